import { subgraphCodegen } from "@mallgraph/platform/codegen";

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  mappers: {
    Cart: "../services/types.ts#CartView",
    CartItem: "../services/types.ts#CartLineView",
    CartResult: "../services/types.ts#CartOutcome",
    CartTotals: "../services/types.ts#CartTotalsView",
    CartPricing: "../services/types.ts#PriceQuote",
    CouponApplicability: "../services/types.ts#PriceQuoteCouponOption",
  },
});
