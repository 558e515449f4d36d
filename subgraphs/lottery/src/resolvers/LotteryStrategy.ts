import type { LotteryStrategyResolvers } from "../generated/graphql.ts";

export const LotteryStrategy: LotteryStrategyResolvers = {
  // Awards dropped from a strategy stay (orders refer to them) with rate 0: not listed.
  awards: (s) => s.awards.filter((a) => !a.rate.isZero() || s.fallbackAwardId === a.id || s.blacklistAwardId === a.id),
};
