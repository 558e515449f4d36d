/**
 * What payment needs from other domains, behind small interfaces (docs/service-contracts.md). The
 * real implementations call the owning subgraph's internal fields with createServiceClient.
 */
import type { Keys } from "@mallgraph/platform/auth";
import { memberWalletOpMutation, type MemberWalletOp, type WalletOpResult } from "@mallgraph/platform/contracts/member";
import {
  ORDER_FOR_PAYMENT_QUERY,
  ORDER_MARK_PAID_MUTATION,
  ORDER_MARK_REFUNDED_MUTATION,
  type OrderForPaymentAnswer,
  type OrderMarkPaidAnswer,
  type OrderMarkRefundedAnswer,
  type OrderPaymentInfo,
  type OrderTransitionResult,
} from "@mallgraph/platform/contracts/order";
import { defined } from "@mallgraph/platform/errors";
import { createServiceClient, type ServiceClient } from "@mallgraph/platform/service-client";

export type { WalletOpResult } from "@mallgraph/platform/contracts/member";
/** The member wallet operations payment calls. */
export type WalletOp = MemberWalletOp;

export interface OrderPort {
  orderForPayment(id: string): Promise<OrderPaymentInfo | null>;
  orderMarkPaid(orderId: string, paymentId: string, channel: string): Promise<OrderTransitionResult>;
  /** `reference`: the refund's reference (order:<afterSaleId> for after-sales), so the order completes that request. */
  orderMarkRefunded(orderId: string, refundId: string, amount: string, reference?: string): Promise<OrderTransitionResult>;
}

export interface WalletPort {
  op(op: WalletOp, memberId: string, currency: string, amount: string, reference: string): Promise<WalletOpResult>;
}

export function orderPort(client: ServiceClient): OrderPort {
  return {
    async orderForPayment(id) {
      const d = await client.request<OrderForPaymentAnswer>(ORDER_FOR_PAYMENT_QUERY, { id });
      return d.orderForPayment;
    },
    async orderMarkPaid(orderId, paymentId, channel) {
      const d = await client.request<OrderMarkPaidAnswer>(ORDER_MARK_PAID_MUTATION, { o: orderId, p: paymentId, c: channel });
      return d.orderMarkPaid;
    },
    async orderMarkRefunded(orderId, refundId, amount, reference) {
      const d = await client.request<OrderMarkRefundedAnswer>(ORDER_MARK_REFUNDED_MUTATION, {
        o: orderId,
        r: refundId,
        a: amount,
        ref: reference ?? null,
      });
      return d.orderMarkRefunded;
    },
  };
}

export function walletPort(client: ServiceClient): WalletPort {
  return {
    async op(op, memberId, currency, amount, reference) {
      const d = await client.request<Record<string, WalletOpResult>>(memberWalletOpMutation(op), {
        m: memberId,
        c: currency,
        a: amount,
        r: reference,
      });
      return defined(d[op], `${op}'s answer`);
    },
  };
}

export interface Ports {
  order: OrderPort;
  wallet: WalletPort;
}

export function servicePorts(opts: { orderUrl: string; memberUrl: string; secret: Keys }): Ports {
  return {
    order: orderPort(createServiceClient({ url: opts.orderUrl, secret: opts.secret, service: "payment" })),
    wallet: walletPort(createServiceClient({ url: opts.memberUrl, secret: opts.secret, service: "payment" })),
  };
}
