import type { OrderStatusEventResolvers } from "../generated/graphql.ts";

export const OrderStatusEvent: OrderStatusEventResolvers = {
  status: (e) => e.status as any,
  previousStatus: (e) => (e.previousStatus as any) ?? null,
  at: (e) => e.at.toISOString(),
  order: async (e, _a, ctx) => (await ctx.orderLoader.load(e.orderId))!,
};
