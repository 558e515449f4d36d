import { formatAmount } from "@mallgraph/platform/money";
import type { CouponTemplateResolvers } from "../generated/graphql.ts";

export const CouponTemplate: CouponTemplateResolvers = {
  threshold: (t) => formatAmount(t.threshold, t.currency),
  amount: (t) => (t.amount ? formatAmount(t.amount, t.currency) : null),
  rate: (t) => (t.rate ? t.rate.toString() : null),
  cap: (t) => (t.cap ? formatAmount(t.cap, t.currency) : null),
  validFrom: (t) => t.validFrom?.toISOString() ?? null,
  validTo: (t) => t.validTo?.toISOString() ?? null,
  createdAt: (t) => t.createdAt.toISOString(),
};
