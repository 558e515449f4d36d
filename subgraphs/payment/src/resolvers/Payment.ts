import { formatAmount } from "@mallgraph/platform/money";
import type { PaymentResolvers } from "../generated/graphql.ts";
import { viewer } from "./access.ts";

export const Payment: PaymentResolvers = {
  __resolveReference: async (ref, ctx) => {
    const p = await ctx.services.payments.get(ref.id);
    if (!p) return null;
    const v = viewer(ctx);
    return v.kind === "operator" || v.id === p.buyerId ? p : null;
  },
  order: (p) => (p.orderId ? { id: p.orderId } : null),
  amount: (p) => formatAmount(p.amount, p.currency),
  refundedAmount: (p) => formatAmount(p.refundedAmount, p.currency),
  expiresAt: (p) => p.expiresAt.toISOString(),
  paidAt: (p) => p.paidAt?.toISOString() ?? null,
  closedAt: (p) => p.closedAt?.toISOString() ?? null,
  createdAt: (p) => p.createdAt.toISOString(),
  refunds: (p, _a, ctx) => ctx.services.payments.refunds(p.id),
};
