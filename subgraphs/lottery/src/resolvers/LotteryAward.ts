import type { LotteryAwardResolvers } from "../generated/graphql.ts";

/** Award.reference is the coupon template (COUPON) or the prize SKU (GOODS). */
export const LotteryAward: LotteryAwardResolvers = {
  couponTemplateId: (a) => (a.kind === "COUPON" ? a.reference : null),
  skuId: (a) => (a.kind === "GOODS" ? a.reference : null),
};
