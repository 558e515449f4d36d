import { formatAmount } from "@mallgraph/platform/money";
import type { PayoutResolvers } from "../generated/graphql.ts";

export const Payout: PayoutResolvers = {
  amount: (p) => formatAmount(p.amount, p.currency),
  createdAt: (p) => p.createdAt.toISOString(),
  completedAt: (p) => p.completedAt?.toISOString() ?? null,
};
