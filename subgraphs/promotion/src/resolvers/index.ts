import { Coupon } from "./Coupon.ts";
import { CouponTemplate } from "./CouponTemplate.ts";
import { FullReductionCampaign } from "./FullReductionCampaign.ts";
import { Mutation } from "./Mutation.ts";
import { Query } from "./Query.ts";
import { SeckillItem } from "./SeckillItem.ts";
import { SeckillReservation } from "./SeckillReservation.ts";

export const resolvers = { Query, Mutation, SeckillItem, SeckillReservation, Coupon, CouponTemplate, FullReductionCampaign };
