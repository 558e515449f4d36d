import { asAdminOrNull } from "@mallgraph/platform/access";
import type { LotteryStrategyResolvers } from "../generated/graphql.ts";

export const LotteryStrategy: LotteryStrategyResolvers = {
  // Awards dropped from a strategy stay (orders refer to them) with rate 0: not listed.
  awards: (s) => s.awards.filter((a) => !a.rate.isZero() || s.fallbackAwardId === a.id || s.blacklistAwardId === a.id),
  // Who is blacklisted is the operators' business.
  blacklist: asAdminOrNull("lottery:read", (s, _a, ctx) => ctx.services.reads.blacklist(s.id)),
  createdAt: (s) => s.createdAt.toISOString(),
};
