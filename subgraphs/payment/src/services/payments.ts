/**
 * PaymentService: the payment domain's one entry point for resolvers, routes and jobs. It only
 * composes the use cases, each in its own file:
 *   checkout.ts       create (or reuse) a payment: provider checkout or the WALLET workflow
 *   notifications.ts  provider callbacks, a success applied exactly once, the order told
 *   closing.ts        close unpaid payments (asking the channel first), the buyer's close, the sweep
 *   refunds.ts        refunds, their polling and completion, the order told
 *   payouts.ts        withdrawals paid out through a channel, settled in the wallet once
 *   read.ts           reads
 * with what they share in shared.ts (dependencies, constants, live events) and ledger.ts (merchant ledger).
 */
import type { Channel, ChannelNotification, PaymentChannelAdapter } from "../channels/types.ts";
import type { Payment } from "../generated/prisma/client.ts";
import { PaymentCheckout } from "./checkout.ts";
import { PaymentClosing } from "./closing.ts";
import { PaymentNotifications } from "./notifications.ts";
import { PaymentPayouts } from "./payouts.ts";
import { PaymentReads } from "./read.ts";
import { PaymentRefunds } from "./refunds.ts";
import { publishPaymentEvent, type PaymentDeps } from "./shared.ts";

export {
  CALLBACK_PATHS,
  CHANNELS,
  toRecord,
  type ApplyOutcome,
  type PaymentDeps,
  type PaymentEventModel,
  type PaymentOptions,
} from "./shared.ts";

export class PaymentService {
  private readonly reads: PaymentReads;
  private readonly checkout: PaymentCheckout;
  private readonly notifications: PaymentNotifications;
  private readonly closing: PaymentClosing;
  private readonly refunding: PaymentRefunds;
  private readonly payouts: PaymentPayouts;

  constructor(private readonly d: PaymentDeps) {
    this.reads = new PaymentReads(d.prisma);
    this.refunding = new PaymentRefunds(d, this.reads);
    this.notifications = new PaymentNotifications(d, this.reads, this.refunding);
    this.closing = new PaymentClosing(d, this.reads, this.notifications);
    this.checkout = new PaymentCheckout(d, this.reads, this.closing, this.notifications);
    this.payouts = new PaymentPayouts(d);
  }

  get prisma() {
    return this.d.prisma;
  }

  adapter(channel: Channel): PaymentChannelAdapter {
    return this.d.adapters[channel];
  }

  // reads
  get(id: string) {
    return this.reads.get(id);
  }
  getForBuyer(id: string, buyerId: string) {
    return this.reads.getForBuyer(id, buyerId);
  }
  forOrder(orderId: string, buyerId?: string) {
    return this.reads.forOrder(orderId, buyerId);
  }
  refunds(paymentId: string) {
    return this.reads.refunds(paymentId);
  }
  event(paymentId: string, eventId: string) {
    return this.reads.event(paymentId, eventId);
  }
  byCheckoutRef(checkoutRef: string) {
    return this.reads.byCheckoutRef(checkoutRef);
  }
  callbackAnomalies(first: number | null | undefined) {
    return this.reads.callbackAnomalies(first);
  }

  // create
  createPayment(buyerId: string, orderId: string, channel: Channel) {
    return this.checkout.createPayment(buyerId, orderId, channel);
  }
  topUp(buyerId: string, currency: string, amount: string, channel: Channel, key: string) {
    return this.checkout.topUp(buyerId, currency, amount, channel, key);
  }

  // notifications
  handleCallback(channel: Channel, headers: Record<string, string | string[] | undefined>, body: Buffer) {
    return this.notifications.handleCallback(channel, headers, body);
  }
  applyPaid(payment: Payment, n: ChannelNotification) {
    return this.notifications.applyPaid(payment, n);
  }
  notifyOrderPaid(paymentId: string) {
    return this.notifications.notifyOrderPaid(paymentId);
  }
  /** Job `publish-event`: the live status event of an event row, once. */
  publishEvent(eventId: string) {
    return publishPaymentEvent(this.d, eventId);
  }

  // close / recovery
  closePayment(paymentId: string, opts?: { force?: boolean }) {
    return this.closing.closePayment(paymentId, opts);
  }
  closeByBuyer(buyerId: string, paymentId: string) {
    return this.closing.closeByBuyer(buyerId, paymentId);
  }
  sweep() {
    return this.closing.sweep();
  }

  // refunds
  refund(paymentId: string, amount: string, reason: string, reference: string, opts?: { notifyOrder?: boolean }) {
    return this.refunding.refund(paymentId, amount, reason, reference, opts);
  }
  pollRefund(refundId: string) {
    return this.refunding.pollRefund(refundId);
  }
  completeRefund(refundId: string, providerRefundNo: string | undefined, notifyOrder: boolean) {
    return this.refunding.completeRefund(refundId, providerRefundNo, notifyOrder);
  }
  notifyOrderRefunded(refundId: string) {
    return this.refunding.notifyOrderRefunded(refundId);
  }
  refundTopUp(buyerId: string, paymentId: string) {
    return this.refunding.refundTopUp(buyerId, paymentId);
  }
  refundOrder(orderId: string, amount: string, reason: string, reference: string) {
    return this.refunding.refundOrder(orderId, amount, reason, reference);
  }

  // payouts (withdrawals)
  withdraw(memberId: string, currency: string, amount: string, channel: Channel, key: string) {
    return this.payouts.withdraw(memberId, currency, amount, channel, key);
  }
  payout(memberId: string, payoutId: string) {
    return this.payouts.forMember(memberId, payoutId);
  }
  handlePayoutCallback(channel: Channel, headers: Record<string, string | string[] | undefined>, body: Buffer) {
    return this.payouts.handleCallback(channel, headers, body);
  }
  sendPayout(payoutId: string) {
    return this.payouts.sendById(payoutId);
  }
  settlePayout(payoutId: string) {
    return this.payouts.settle(payoutId);
  }
}
