/**
 * What payment offers other domains: `refundOrderPayment` (order's after-sales refunds) — payment
 * `schema.graphql`, the @inaccessible fields; docs/service-contracts.md. contracts.test.ts validates
 * the document and the codes against payment's SDL.
 */

/** `RefundResultCode`: what a refund answers (an enum in the SDL). */
export const REFUND_RESULT_CODES = ["OK", "NOT_REFUNDABLE", "EXCEEDS_REFUNDABLE", "CHANNEL_ERROR", "TOP_UP_SPENT"] as const;
export type RefundResultCode = (typeof REFUND_RESULT_CODES)[number];

/** `refundOrderPayment(orderId, amount, reason, reference)`: idempotent per reference. Variables `o a r ref`. */
export const REFUND_ORDER_PAYMENT_MUTATION = `mutation($o: ID!, $a: String!, $r: String!, $ref: String!) { refundOrderPayment(orderId: $o, amount: $a, reason: $r, reference: $ref) { code } }`;
export interface RefundOrderPaymentAnswer {
  refundOrderPayment: { code: RefundResultCode };
}
