import { asAdmin, asMember, assertPermission, memberId } from "@mallgraph/platform/access";
import type { MutationResolvers } from "../generated/graphql.ts";

export const Mutation: MutationResolvers = {
  adminCreateRedEnvelopeRain: asAdmin("lottery:write", (_p, { input }, ctx) => ctx.services.rain.create(input, assertPermission(ctx, "lottery:write"))),
  adminCloseRedEnvelopeRain: asAdmin("lottery:write", (_p, { id }, ctx) => ctx.services.rain.close(id)),
  grabRedEnvelope: asMember((_p, { rainId }, ctx) => ctx.services.rain.grab(rainId, memberId(ctx))),
  draw: asMember(async (_p, { activityId, idempotencyKey }, ctx) => {
    const r = await ctx.services.draws.draw(memberId(ctx), activityId, idempotencyKey);
    return { code: r.code, award: r.award, orderId: r.orderId };
  }),
  signIn: asMember((_p, { activityId }, ctx) => ctx.services.rebates.signIn(memberId(ctx), activityId)),
  exchangePointsForDraws: asMember((_p, { activityId, count, idempotencyKey }, ctx) => ctx.services.rebates.exchangePointsForDraws(memberId(ctx), activityId, count, idempotencyKey)),
};
