import type { LotteryDrawResolvers } from "../generated/graphql.ts";

export const LotteryDraw: LotteryDrawResolvers = {
  award: (o, _a, ctx) => (o.awardId ? ctx.services.reads.award(o.awardId) : null),
  createdAt: (o) => o.createdAt.toISOString(),
  deliveredAt: (o) => o.deliveredAt?.toISOString() ?? null,
};
