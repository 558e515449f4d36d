import { formatAmount } from "@mallgraph/platform/money";
import type { CouponResolvers } from "../generated/graphql.ts";
import { displayStatus } from "../services/coupons.ts";

export const Coupon: CouponResolvers = {
  status: (c) => displayStatus(c) as "UNUSED" | "LOCKED" | "USED" | "EXPIRED",
  validFrom: (c) => c.validFrom.toISOString(),
  validTo: (c) => c.validTo.toISOString(),
  discount: (c) => (c.discount ? formatAmount(c.discount, c.template.currency) : null),
};
