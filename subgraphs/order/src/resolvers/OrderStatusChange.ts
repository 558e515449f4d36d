import type { OrderStatusChangeResolvers } from "../generated/graphql.ts";

export const OrderStatusChange: OrderStatusChangeResolvers = {
  at: (c) => c.createdAt.toISOString(),
};
