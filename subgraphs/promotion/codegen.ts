import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        federation: true,
        useIndexSignature: true,
        contextType: "../context.ts#Context",
        enumsAsTypes: true,
        useTypeImports: true,
        mappers: {
          SeckillSession: "../services/types.ts#SessionView",
          SeckillItem: "../services/types.ts#ItemView",
          SeckillReservation: "../services/types.ts#ReservationView",
          CouponTemplate: "./prisma/client.ts#CouponTemplate as CouponTemplateRow",
          Coupon: "../services/coupons.ts#CouponWithTemplate",
          FullReductionCampaign: "./prisma/client.ts#FullReductionCampaign as FullReductionCampaignRow",
          PriceQuote: "../services/quotes.ts#QuoteView",
        },
      },
    },
  },
};
export default config;
