import type { SeckillReservationResolvers } from "../generated/graphql.ts";

export const SeckillReservation: SeckillReservationResolvers = {
  order: (r) => (r.orderId ? { __typename: "Order", id: r.orderId } : null),
};
