import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import { asInternal } from "./internal.ts";
import { badInput } from "@mallgraph/platform/errors";
import type { QueryResolvers } from "../generated/graphql.ts";
import { couponTemplatesInUse } from "../services/award-coupons.ts";
import { memberLotteryExport } from "../services/export.ts";

function pageSize(limit: number | null | undefined): number {
  const n = limit ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw badInput("limit must be 1 to 100", { field: "limit" });
  return n;
}

export const Query: QueryResolvers = {
  redEnvelopeRainCampaign: (_p, { id }, ctx) => ctx.services.rain.get(id),
  adminRedEnvelopeRains: asAdmin("lottery:read", async (_p, { first }, ctx) => {
    const rows = await ctx.services.prisma.redEnvelopeRain.findMany({ orderBy: { createdAt: "desc" }, take: pageSize(first) });
    return Promise.all(rows.map((r) => ctx.services.rain.view(r)));
  }),
  // Events are public to the rain's subscribers (no audience); the resolver hides other members' ids.
  redEnvelopeRainEvent: asGatewayEvent((_p, { rainId, eventId }, ctx) => ctx.services.rain.event(rainId, eventId)),
  // Drafts are visible to operators only.
  lotteryActivity: async (_p, { id }, ctx) => {
    const a = await ctx.services.draws.activity(id);
    return a && (a.state !== "DRAFT" || ctx.identity.kind === "admin") ? a : null;
  },
  lotteryActivities: (_p, _a, ctx) => ctx.services.prisma.activity.findMany({ where: { state: "ONLINE" }, orderBy: { startsAt: "asc" } }),
  myPoints: asMember((_p, _a, ctx) => ctx.services.points.account(memberId(ctx))),
  myPointsHistory: asMember((_p, a, ctx) => ctx.services.points.history(memberId(ctx), a.first ?? 20, a.after)),
  myDraws: asMember((_p, { activityId, limit }, ctx) =>
    ctx.services.prisma.participationOrder.findMany({
      where: { memberId: memberId(ctx), awardId: { not: null }, ...(activityId ? { activityId } : {}) },
      orderBy: { createdAt: "desc" },
      take: pageSize(limit),
    }),
  ),
  adminLotteryDraws: asAdmin("lottery:read", (_p, { activityId, delivery, first }, ctx) =>
    ctx.services.prisma.participationOrder.findMany({
      where: { activityId, awardId: { not: null }, ...(delivery ? { delivery } : {}) },
      orderBy: { createdAt: "desc" },
      take: pageSize(first),
    }),
  ),
  adminLotteryStrategies: asAdmin("lottery:read", (_p, { first }, ctx) => ctx.services.prisma.strategy.findMany({ orderBy: [{ createdAt: "desc" }, { id: "asc" }], take: pageSize(first), include: { awards: { orderBy: { sortOrder: "asc" } } } })),
  myRedEnvelopeGrabs: asMember((_p, { limit }, ctx) =>
    ctx.services.prisma.redEnvelopeGrab.findMany({ where: { memberId: memberId(ctx) }, orderBy: { grabbedAt: "desc" }, take: pageSize(limit) }),
  ),
  memberLotteryExport: asInternal("memberLotteryExport", async (_p, { memberId: m }, ctx) => JSON.stringify(await memberLotteryExport(ctx.services.prisma, m))),
  lotteryCouponTemplatesInUse: asInternal("lotteryCouponTemplatesInUse", (_p, { templateIds }, ctx) => couponTemplatesInUse(ctx.services.prisma, templateIds)),
};
