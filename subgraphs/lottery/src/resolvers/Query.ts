import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import { badInput } from "@mallgraph/platform/errors";
import { listWorkflowRuns } from "@mallgraph/platform/workflow";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

function pageSize(limit: number | null | undefined): number {
  const n = limit ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw badInput("limit must be 1 to 100", { field: "limit" });
  return n;
}

export const Query: QueryResolvers = {
  adminLotteryWorkflowRuns: asAdmin("workflow:read", (_p, a, ctx) => listWorkflowRuns(ctx.services.workflows, a)),
  redEnvelopeRainCampaign: (_p, { id }, ctx) => ctx.services.rain.get(id),
  adminRedEnvelopeRains: asAdmin("lottery:read", async (_p, { first }, ctx) => {
    const rows = await ctx.services.reads.rains(pageSize(first));
    return Promise.all(rows.map((r) => ctx.services.rain.view(r)));
  }),
  // Events are public to the rain's subscribers (no audience); the resolver hides other members' ids.
  redEnvelopeRainEvent: asGatewayEvent((_p, { rainId, eventId }, ctx) => ctx.services.rain.event(rainId, eventId)),
  // Drafts are visible to operators only.
  lotteryActivity: async (_p, { id }, ctx) => {
    const a = await ctx.services.draws.activity(id);
    return a && (a.state !== "DRAFT" || ctx.identity.kind === "admin") ? a : null;
  },
  lotteryActivities: (_p, _a, ctx) => ctx.services.reads.onlineActivities(),
  myPoints: asMember((_p, _a, ctx) => ctx.services.points.account(memberId(ctx))),
  myPointsHistory: asMember((_p, a, ctx) => ctx.services.points.history(memberId(ctx), a.first ?? 20, a.after)),
  myDraws: asMember((_p, { activityId, limit }, ctx) => ctx.services.reads.memberDraws(memberId(ctx), activityId, pageSize(limit))),
  adminLotteryDraws: asAdmin("lottery:read", (_p, { activityId, delivery, first }, ctx) =>
    ctx.services.reads.activityDraws(activityId, delivery, pageSize(first)),
  ),
  adminLotteryStrategies: asAdmin("lottery:read", (_p, { first }, ctx) => ctx.services.reads.strategies(pageSize(first))),
  myRedEnvelopeGrabs: asMember((_p, { limit }, ctx) => ctx.services.reads.memberGrabs(memberId(ctx), pageSize(limit))),
  memberLotteryExport: asInternal("memberLotteryExport", async (_p, { memberId: m }, ctx) =>
    JSON.stringify(await ctx.services.reads.memberExport(m)),
  ),
  lotteryCouponTemplatesInUse: asInternal("lotteryCouponTemplatesInUse", (_p, { templateIds }, ctx) =>
    ctx.services.reads.couponTemplatesInUse(templateIds),
  ),
};
