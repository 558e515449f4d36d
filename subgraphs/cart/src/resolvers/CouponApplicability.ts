import type { CouponApplicabilityResolvers } from "../generated/graphql.ts";

export const CouponApplicability: CouponApplicabilityResolvers = {
  coupon: (o) => ({ __typename: "Coupon", id: o.couponId }),
};
