import { formatAmount } from "@mallgraph/platform/money";
import type { AfterSaleResolvers } from "../generated/graphql.ts";

export const AfterSale: AfterSaleResolvers = {
  order: async (a, _x, ctx) => (await ctx.orderLoader.load(a.orderId))!,
  amount: async (a, _x, ctx) => formatAmount(a.amount, (await ctx.orderLoader.load(a.orderId))!.currency),
  currency: async (a, _x, ctx) => (await ctx.orderLoader.load(a.orderId))!.currency,
  createdAt: (a) => a.createdAt.toISOString(),
  lines: async (a, _x, ctx) => {
    const currency = (await ctx.orderLoader.load(a.orderId))!.currency;
    const lines = await ctx.services.orders.afterSaleLines(a.id);
    return lines.map((l) => ({ skuId: l.item.skuId, quantity: l.quantity, amount: formatAmount(l.amount, currency) }));
  },
};
