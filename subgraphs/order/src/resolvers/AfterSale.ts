import { defined } from "@mallgraph/platform/errors";
import { formatAmount } from "@mallgraph/platform/money";
import type { Context } from "../context.ts";
import type { AfterSaleResolvers } from "../generated/graphql.ts";

/** An after-sale's order (a foreign key: it exists). */
const orderOf = async (orderId: string, ctx: Context) => defined(await ctx.orderLoader.load(orderId), `order ${orderId}`);

export const AfterSale: AfterSaleResolvers = {
  order: (a, _x, ctx) => orderOf(a.orderId, ctx),
  amount: async (a, _x, ctx) => formatAmount(a.amount, (await orderOf(a.orderId, ctx)).currency),
  currency: async (a, _x, ctx) => (await orderOf(a.orderId, ctx)).currency,
  createdAt: (a) => a.createdAt.toISOString(),
  lines: async (a, _x, ctx) => {
    const { currency } = await orderOf(a.orderId, ctx);
    const lines = await ctx.services.orders.afterSaleLines(a.id);
    return lines.map((l) => ({ skuId: l.item.skuId, quantity: l.quantity, amount: formatAmount(l.amount, currency) }));
  },
};
