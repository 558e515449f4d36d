import type { WorkflowHooks } from "@mallgraph/platform/workflow";
import type { AfterSaleCode, ChangeCode, PlaceCode } from "../errors.ts";
/** Plain domain shapes of the order domain (no GraphQL types here). */
import type { AfterSale, Order, OrderItem, OrderStatusChange, Shipment, TrackingEvent } from "../generated/prisma/client.ts";

export type OrderRecord = Order & { items?: OrderItem[] };

export interface PlaceOrderInput {
  fromCart?: boolean | null;
  items?: Array<{ skuId: string; quantity: number }> | null;
  addressId: string;
  couponId?: string | null;
  note?: string | null;
  paymentMethod?: string | null;
  idempotencyKey?: string | null;
  /** The payable the buyer was shown (Cart.pricing); another price now refuses with PRICE_CHANGED. */
  expectedPayable?: string | null;
}

/** The price of an order's lines as promotion quoted it (PlaceOrderResult.quote). */
export interface OrderQuoteView {
  itemsTotal: string;
  discount: string;
  payable: string;
  currency: string;
}

export interface PlaceOrderOutcome {
  code: PlaceCode;
  message: string | null;
  failedSkuId: string | null;
  order: OrderRecord | null;
  /** PRICE_CHANGED: the price now. */
  quote?: OrderQuoteView | null;
}

export interface OrderOutcome {
  code: ChangeCode;
  message: string | null;
  order: OrderRecord | null;
}

export interface TransitionOutcome {
  code: string;
  status: string | null;
}

/** Test-only switches (failure injection); production passes none. */
export interface OrderTestHooks {
  placeOrder?: WorkflowHooks;
  /** Inside createSeckillBatch's transaction, after the inserts (tests: a crash midway). */
  seckillBatch?: (reservationIds: string[]) => void | Promise<void>;
}

export type AfterSaleRow = AfterSale;
export type StatusChangeRow = OrderStatusChange;
export type TrackingEventRow = TrackingEvent;

export type OrderItemView = OrderItem & { currency: string };
export type ShipmentView = Shipment & { events: TrackingEvent[] };

export interface StatusEventView {
  eventId: string;
  status: string;
  previousStatus: string | null;
  at: Date;
  orderId: string;
}

export interface AfterSaleOutcome {
  code: AfterSaleCode;
  message: string | null;
  afterSale: AfterSale | null;
}

export interface OrderPage {
  nodes: OrderRecord[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface SeckillOrderInput {
  reservationId: string;
  buyerId: string;
  skuId: string;
  quantity: number;
  unitPrice: string;
  currency: string;
  addressId?: string | null;
}

export interface PrizeOrderInput {
  drawId: string;
  buyerId: string;
  skuId: string;
  /** Absent: the member's default address. */
  addressId?: string | null;
}

export interface SeckillOrderOutcome {
  code: string;
  orderId: string | null;
  status: string | null;
}
