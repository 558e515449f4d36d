import { subgraphCodegen } from "@mallgraph/platform/codegen";

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  mappers: {
    SeckillSession: "../services/types.ts#SessionView",
    SeckillItem: "../services/types.ts#ItemView",
    SeckillReservation: "../services/types.ts#ReservationView",
    CouponTemplate: "./prisma/client.ts#CouponTemplate as CouponTemplateRow",
    Coupon: "../services/coupons.ts#CouponWithTemplate",
    FullReductionCampaign: "./prisma/client.ts#FullReductionCampaign as FullReductionCampaignRow",
    PriceQuote: "../services/quotes.ts#QuoteView",
  },
});
