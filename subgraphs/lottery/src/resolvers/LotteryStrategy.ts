import type { LotteryStrategyResolvers } from "../generated/graphql.ts";

export const LotteryStrategy: LotteryStrategyResolvers = {
  // Awards dropped from a strategy stay (orders refer to them) with rate 0: not listed.
  awards: (s) => s.awards.filter((a) => !a.rate.isZero() || s.fallbackAwardId === a.id || s.blacklistAwardId === a.id),
  // Who is blacklisted is the operators' business.
  blacklist: async (s, _a, ctx) => {
    if (ctx.identity.kind !== "admin" || !ctx.identity.permissions?.includes("lottery:read")) return null;
    const rows = await ctx.services.prisma.strategyBlacklist.findMany({ where: { strategyId: s.id }, orderBy: { memberId: "asc" }, select: { memberId: true } });
    return rows.map((r) => r.memberId);
  },
  createdAt: (s) => s.createdAt.toISOString(),
};
