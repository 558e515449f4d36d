import type { ShipmentResolvers, TrackingEventResolvers } from "../generated/graphql.ts";

export const Shipment: ShipmentResolvers = {
  shippedAt: (s) => s.shippedAt.toISOString(),
};

export const TrackingEvent: TrackingEventResolvers = {
  occurredAt: (e) => e.occurredAt.toISOString(),
};
