import type { CartResolvers } from "../generated/graphql.ts";
import { quote, totals } from "../services/pricing.ts";

export const Cart: CartResolvers = {
  totals: (cart, _a, ctx) => totals(ctx.services.promotion, ctx.quotes, cart),
  pricing: (cart, { couponId }, ctx) => quote(ctx.services.promotion, ctx.quotes, cart, couponId ?? null, true),
  applicableCoupons: async (cart, _a, ctx) => {
    // any quote of this request with the options (CartPricing asks pricing and applicableCoupons together)
    const withOptions = [...ctx.quotes.entries()].find(([k]) => k.startsWith(`${cart.id}|`) && k.endsWith("|true"))?.[1];
    return (await (withOptions ?? quote(ctx.services.promotion, ctx.quotes, cart, null, true))).couponOptions;
  },
};
