import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { SeckillItem } from "./SeckillItem.ts";
import { SeckillReservation } from "./SeckillReservation.ts";
import { Coupon } from "./Coupon.ts";
import { CouponTemplate } from "./CouponTemplate.ts";
import { FullReductionCampaign } from "./FullReductionCampaign.ts";

export const resolvers = { Query, Mutation, SeckillItem, SeckillReservation, Coupon, CouponTemplate, FullReductionCampaign };
