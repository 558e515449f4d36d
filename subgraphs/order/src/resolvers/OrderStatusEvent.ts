import { defined } from "@mallgraph/platform/errors";
import type { OrderStatus, OrderStatusEventResolvers } from "../generated/graphql.ts";

export const OrderStatusEvent: OrderStatusEventResolvers = {
  status: (e) => e.status as OrderStatus,
  previousStatus: (e) => (e.previousStatus as OrderStatus | null) ?? null,
  at: (e) => e.at.toISOString(),
  order: async (e, _a, ctx) => defined(await ctx.orderLoader.load(e.orderId), `order ${e.orderId}`),
};
