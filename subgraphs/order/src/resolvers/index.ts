import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { Order } from "./Order.ts";
import { OrderItem } from "./OrderItem.ts";
import { OrderStatusEvent } from "./OrderStatusEvent.ts";
import { OrderStatusChange } from "./OrderStatusChange.ts";
import { Shipment, TrackingEvent } from "./Shipment.ts";
import { AfterSale } from "./AfterSale.ts";
import { OrderConnection } from "./OrderConnection.ts";

export const resolvers = { Query, Mutation, Order, OrderItem, OrderStatusEvent, OrderStatusChange, Shipment, TrackingEvent, AfterSale, OrderConnection };
