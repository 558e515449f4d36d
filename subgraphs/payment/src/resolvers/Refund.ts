import { formatAmount } from "@mallgraph/platform/money";
import type { RefundResolvers } from "../generated/graphql.ts";

export const Refund: RefundResolvers = {
  amount: (r) => formatAmount(r.amount, r.currency),
  createdAt: (r) => r.createdAt.toISOString(),
};
