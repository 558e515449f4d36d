import { asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import type { QueryResolvers } from "../generated/graphql.ts";

export const Query: QueryResolvers = {
  redEnvelopeRainCampaign: (_p, { id }, ctx) => ctx.services.rain.get(id),
  // Events are public to the rain's subscribers (no audience); the resolver hides other members' ids.
  redEnvelopeRainEvent: asGatewayEvent((_p, { rainId, eventId }, ctx) => ctx.services.rain.event(rainId, eventId)),
  // Drafts are visible to operators only.
  lotteryActivity: async (_p, { id }, ctx) => {
    const a = await ctx.services.draws.activity(id);
    return a && (a.state !== "DRAFT" || ctx.identity.kind === "admin") ? a : null;
  },
  lotteryActivities: (_p, _a, ctx) => ctx.services.prisma.activity.findMany({ where: { state: "ONLINE" }, orderBy: { startsAt: "asc" } }),
  myPoints: asMember((_p, _a, ctx) => ctx.services.points.account(memberId(ctx))),
};
