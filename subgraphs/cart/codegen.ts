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
          Cart: "../services/types.ts#CartView",
          CartItem: "../services/types.ts#CartLineView",
          CartResult: "../services/types.ts#CartOutcome",
          CartTotals: "../services/types.ts#CartTotalsView",
          CartPricing: "../services/types.ts#PriceQuote",
          CouponApplicability: "../services/types.ts#PriceQuoteCouponOption",
        },
      },
    },
  },
};
export default config;
