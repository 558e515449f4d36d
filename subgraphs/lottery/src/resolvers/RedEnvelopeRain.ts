import { formatAmount } from "@mallgraph/platform/money";
import type { RedEnvelopeRainResolvers } from "../generated/graphql.ts";

export const RedEnvelopeRain: RedEnvelopeRainResolvers = {
  totalAmount: (r) => formatAmount(r.totalAmount, r.currency),
  grabbedAmount: (r) => (r.grabbedAmount == null ? null : formatAmount(r.grabbedAmount, r.currency)),
  refundAmount: (r) => (r.refundAmount == null ? null : formatAmount(r.refundAmount, r.currency)),
  startsAt: (r) => r.startsAt.toISOString(),
  endsAt: (r) => r.endsAt.toISOString(),
};
