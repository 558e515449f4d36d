import type { LotteryDrawResolvers } from "../generated/graphql.ts";

export const LotteryDraw: LotteryDrawResolvers = {
  award: (o, _a, ctx) => (o.awardId ? ctx.services.prisma.award.findUnique({ where: { id: o.awardId } }) : null),
  delivery: (o) => (o.delivery === "DELIVERED" ? "OK" : "PENDING"),
  createdAt: (o) => o.createdAt.toISOString(),
};
