/**
 * What order offers other domains: an order's payment view and its paid / refunded transitions
 * (payment), the SECKILL orders of seckill reservations and order statuses (promotion), the PRIZE
 * order of a GOODS award (lottery), purchase verification (catalog's reviews) and a member's open
 * orders and order export (member) — order `schema.graphql`, the @inaccessible fields;
 * docs/service-contracts.md. Callers import these instead of keeping copies; contracts.test.ts
 * checks the field and code lists against order's SDL and validates every document against it.
 */
import { fieldsOf, selection } from "./fields.ts";

/** `OrderPaymentInfo`: what payment reads of an order before taking its money. */
export interface OrderPaymentInfo {
  id: string;
  orderNo: string;
  buyerId: string;
  /** The order's status (PENDING_PAYMENT, PAID, …). */
  status: string;
  /** Exact decimal in `currency`. */
  payable: string;
  currency: string;
  subject: string;
}
export const ORDER_PAYMENT_INFO_FIELDS = fieldsOf<OrderPaymentInfo>()(
  "id",
  "orderNo",
  "buyerId",
  "status",
  "payable",
  "currency",
  "subject",
);

/** `orderForPayment(id)`: null for an unknown order. Variable `id`. */
export const ORDER_FOR_PAYMENT_QUERY = `query($id: ID!) { orderForPayment(id: $id) ${selection(ORDER_PAYMENT_INFO_FIELDS)} }`;
export interface OrderForPaymentAnswer {
  orderForPayment: OrderPaymentInfo | null;
}

/**
 * The statuses of many orders in one request (`orderForPayment` once per order, aliased `o0`, `o1`,
 * …; variables `i0`, `i1`, …). Each alias answers `{ status }`, or null for an unknown order.
 */
export const orderStatusesQuery = (count: number) => {
  const vars = Array.from({ length: count }, (_, i) => `$i${i}: ID!`).join(", ");
  const fields = Array.from({ length: count }, (_, i) => `o${i}: orderForPayment(id: $i${i}) { status }`).join(" ");
  return `query(${vars}) { ${fields} }`;
};
export type OrderStatusesAnswer = Record<string, Pick<OrderPaymentInfo, "status"> | null>;

/** `OrderTransitionResult.code` (a `String!` on the wire; the values its description lists). */
export const ORDER_TRANSITION_CODES = ["OK", "NOT_FOUND", "INVALID_STATE", "INVALID_AMOUNT"] as const;
export type OrderTransitionCode = (typeof ORDER_TRANSITION_CODES)[number];

/** `OrderTransitionResult`: the outcome of orderMarkPaid / orderMarkRefunded, with the order's status after it. */
export interface OrderTransitionResult {
  code: OrderTransitionCode;
  status: string | null;
}
export const ORDER_TRANSITION_RESULT_FIELDS = fieldsOf<OrderTransitionResult>()("code", "status");

/** `orderMarkPaid(orderId, paymentId, channel)`: PENDING_PAYMENT → PAID, idempotent per payment. Variables `o p c`. */
export const ORDER_MARK_PAID_MUTATION = `mutation($o: ID!, $p: ID!, $c: String!) { orderMarkPaid(orderId: $o, paymentId: $p, channel: $c) ${selection(ORDER_TRANSITION_RESULT_FIELDS)} }`;
export interface OrderMarkPaidAnswer {
  orderMarkPaid: OrderTransitionResult;
}

/** `orderMarkRefunded(orderId, refundId, amount, reference)`: books a refund, idempotent per refundId. Variables `o r a ref`. */
export const ORDER_MARK_REFUNDED_MUTATION = `mutation($o: ID!, $r: ID!, $a: String!, $ref: String) { orderMarkRefunded(orderId: $o, refundId: $r, amount: $a, reference: $ref) ${selection(ORDER_TRANSITION_RESULT_FIELDS)} }`;
export interface OrderMarkRefundedAnswer {
  orderMarkRefunded: OrderTransitionResult;
}

/** `SeckillOrderInput`: one seckill reservation to turn into a SECKILL order. */
export interface SeckillOrderInput {
  reservationId: string;
  buyerId: string;
  skuId: string;
  quantity: number;
  /** Exact decimal in `currency`. */
  unitPrice: string;
  currency: string;
  /** Absent: the order has no address yet. */
  addressId?: string | null;
}
export const SECKILL_ORDER_INPUT_FIELDS = fieldsOf<SeckillOrderInput>()(
  "reservationId",
  "buyerId",
  "skuId",
  "quantity",
  "unitPrice",
  "currency",
  "addressId",
);

/** `SeckillOrderResult.code` (a `String!` on the wire; the values its description lists). */
export const SECKILL_ORDER_CODES = ["OK", "BAD_QUANTITY", "ADDRESS_NOT_FOUND", "NO_ADDRESS", "NOT_FOUND"] as const;
export type SeckillOrderCode = (typeof SECKILL_ORDER_CODES)[number];

/** `SeckillOrderResult`: the answer of orderCreateSeckill, orderCreateSeckillBatch and orderCreatePrize. */
export interface SeckillOrderResult {
  code: SeckillOrderCode;
  orderId: string | null;
  status: string | null;
}
export const SECKILL_ORDER_RESULT_FIELDS = fieldsOf<SeckillOrderResult>()("code", "orderId", "status");

/** `orderCreateSeckill(...)`: idempotent per reservationId. Variables `r b s q p c a` (the input's fields in order). */
export const ORDER_CREATE_SECKILL_MUTATION = `mutation($r: ID!, $b: ID!, $s: ID!, $q: Int!, $p: String!, $c: String!, $a: ID) {
  orderCreateSeckill(reservationId: $r, buyerId: $b, skuId: $s, quantity: $q, unitPrice: $p, currency: $c, addressId: $a) ${selection(SECKILL_ORDER_RESULT_FIELDS)} }`;
export interface OrderCreateSeckillAnswer {
  orderCreateSeckill: SeckillOrderResult;
}

/** `orderCreateSeckillBatch(orders)`: many reservations in one transaction, answers in the order given. Variable `o`. */
export const ORDER_CREATE_SECKILL_BATCH_MUTATION = `mutation($o: [SeckillOrderInput!]!) { orderCreateSeckillBatch(orders: $o) ${selection(SECKILL_ORDER_RESULT_FIELDS)} }`;
export interface OrderCreateSeckillBatchAnswer {
  orderCreateSeckillBatch: SeckillOrderResult[];
}

/** `orderCreatePrize(drawId, buyerId, skuId, addressId)`: the PRIZE order of a GOODS award, idempotent per drawId. Variables `d b s a`. */
export const ORDER_CREATE_PRIZE_MUTATION = `mutation($d: ID!, $b: ID!, $s: ID!, $a: ID) { orderCreatePrize(drawId: $d, buyerId: $b, skuId: $s, addressId: $a) ${selection(SECKILL_ORDER_RESULT_FIELDS)} }`;
export interface OrderCreatePrizeAnswer {
  orderCreatePrize: SeckillOrderResult;
}

/** `purchaseVerified(orderId, memberId, skuId)`: the member bought the SKU in that order and it is completed. */
export const PURCHASE_VERIFIED_QUERY = `query PurchaseVerified($orderId: ID!, $memberId: ID!, $skuId: ID!) { purchaseVerified(orderId: $orderId, memberId: $memberId, skuId: $skuId) }`;
export interface PurchaseVerifiedAnswer {
  purchaseVerified: boolean;
}

/** `memberOpenOrders(memberId)`: how many of the member's orders are not done with. Variable `memberId`. */
export const MEMBER_OPEN_ORDERS_QUERY = `query($memberId: ID!) { memberOpenOrders(memberId: $memberId) }`;
export interface MemberOpenOrdersAnswer {
  memberOpenOrders: number;
}

/** `memberOrdersExport(memberId)`: the member's orders, oldest first. Variable `memberId`. */
export const MEMBER_ORDERS_EXPORT_QUERY = `query($memberId: ID!) { memberOrdersExport(memberId: $memberId) }`;
export interface MemberOrdersExportAnswer {
  /** JSON of an array of orders. */
  memberOrdersExport: string;
}
