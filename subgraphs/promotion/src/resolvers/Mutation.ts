import { asAdmin, asMember, assertPermission, memberId } from "@mallgraph/platform/access";
import type { MutationResolvers } from "../generated/graphql.ts";

export const Mutation: MutationResolvers = {
  adminCreateSeckillSession: asAdmin("promotion:write", (_p, { input }, ctx) =>
    ctx.services.seckill.createSession(input, assertPermission(ctx, "promotion:write")),
  ),
  seckillBuy: asMember((_p, { sessionId, skuId, quantity, idempotencyKey }, ctx) =>
    ctx.services.seckill.buy(memberId(ctx), sessionId, skuId, quantity, idempotencyKey),
  ),
};
