import { AfterSale } from "./AfterSale.ts";
import { Mutation } from "./Mutation.ts";
import { Order } from "./Order.ts";
import { OrderConnection } from "./OrderConnection.ts";
import { OrderItem } from "./OrderItem.ts";
import { OrderStatusChange } from "./OrderStatusChange.ts";
import { OrderStatusEvent } from "./OrderStatusEvent.ts";
import { Query } from "./Query.ts";
import { Shipment, TrackingEvent } from "./Shipment.ts";

export const resolvers = {
  Query,
  Mutation,
  Order,
  OrderItem,
  OrderStatusEvent,
  OrderStatusChange,
  Shipment,
  TrackingEvent,
  AfterSale,
  OrderConnection,
};
