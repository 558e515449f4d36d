/**
 * A payment's success, applied exactly once however it is learnt (provider callback, query on
 * close, wallet capture), and the order told about it (the `notify-paid` job).
 */
import { defined } from "@mallgraph/platform/errors";
import { formatAmount } from "@mallgraph/platform/money";
import { writeOutbox } from "@mallgraph/platform/outbox";
import type { Channel, ChannelNotification, HttpAnswer } from "../channels/types.ts";
import { AnomalyReason, SignatureError } from "../errors.ts";
import type { Payment } from "../generated/prisma/client.ts";
import { creditMerchant } from "./ledger.ts";
import type { PaymentReads } from "./read.ts";
import type { PaymentRefunds } from "./refunds.ts";
import {
  afterCommit,
  PAID_STATES,
  paymentJobs,
  recordAnomaly,
  sameAmount,
  topUpRef,
  type ApplyOutcome,
  type PaymentDeps,
  type Tx,
} from "./shared.ts";

export class PaymentNotifications {
  constructor(
    private readonly d: PaymentDeps,
    private readonly reads: PaymentReads,
    private readonly refunds: PaymentRefunds,
  ) {}

  /** A provider callback: verify, check amount, apply once. Answers what the provider expects. */
  async handleCallback(channel: Channel, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<HttpAnswer> {
    const adapter = this.d.adapters[channel];
    let n: ChannelNotification;
    try {
      n = await adapter.verifyNotification(headers, body, (hint) => this.d.merchants.configForHint(channel, hint));
    } catch (e) {
      if (e instanceof SignatureError) {
        this.d.log.warn({ channel, reason: e.message }, "callback refused: signature");
        return adapter.nack(e.message);
      }
      throw e;
    }
    const payment = await this.d.prisma.payment.findUnique({ where: { checkoutRef: n.outTradeNo } });
    if (!payment || payment.channel !== channel) {
      await recordAnomaly(this.d.prisma, channel, payment?.id ?? null, AnomalyReason.UNKNOWN_TRADE, {
        outTradeNo: n.outTradeNo,
        notifyId: n.notifyId,
      });
      return adapter.nack("unknown trade");
    }
    if (!n.paid) return adapter.ack(); // progress notifications (waiting, closed) change nothing here
    const outcome = await this.applyPaid(payment, n);
    return outcome === "REFUSED" ? adapter.nack("refused") : adapter.ack();
  }

  /**
   * Applies a verified "paid" notification exactly once: unique notification id, conditional
   * PENDING → SUCCEEDED, merchant ledger credit, the event and its outbox jobs (live event; the
   * order notification unless the payment is refunded automatically) in one transaction, relayed
   * after commit (or by the worker's relay after a crash). Wrong amount or currency: refused, recorded.
   * `transact`: the transaction to apply it in (the wallet workflow's, which records its run in it).
   */
  async applyPaid(
    payment: Payment,
    n: ChannelNotification,
    transact: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R> = (fn) => this.d.prisma.$transaction(fn),
  ): Promise<ApplyOutcome> {
    if (n.currency !== payment.currency) {
      await recordAnomaly(this.d.prisma, payment.channel, payment.id, AnomalyReason.CURRENCY_MISMATCH, {
        expected: payment.currency,
        got: n.currency,
        notifyId: n.notifyId,
      });
      return "REFUSED";
    }
    if (!sameAmount(n.amount, payment.amount)) {
      await recordAnomaly(this.d.prisma, payment.channel, payment.id, AnomalyReason.AMOUNT_MISMATCH, {
        expected: formatAmount(payment.amount, payment.currency),
        got: n.amount,
        notifyId: n.notifyId,
      });
      return "REFUSED";
    }
    const result = await transact(async (tx) => {
      const fresh = await tx.paymentNotification.createMany({
        data: [{ channel: payment.channel, notifyId: n.notifyId, paymentId: payment.id }],
        skipDuplicates: true,
      });
      if (fresh.count === 0) return { outcome: "DUPLICATE" as const };
      const paidAt = n.paidAt ?? new Date();
      const won = await tx.payment.updateMany({
        where: { id: payment.id, status: "PENDING" },
        data: { status: "SUCCEEDED", paidAt, providerTradeNo: n.providerTradeNo ?? payment.providerTradeNo, walletFrozen: false },
      });
      let anomaly: string | undefined;
      if (won.count === 0) {
        // Money arrived for a payment we had closed: reopen it as paid, then refund it automatically.
        const reopened = await tx.payment.updateMany({
          where: { id: payment.id, status: "CLOSED" },
          data: { status: "SUCCEEDED", paidAt, providerTradeNo: n.providerTradeNo ?? payment.providerTradeNo },
        });
        if (reopened.count === 0) return { outcome: "DUPLICATE" as const }; // already paid (another notification or a query)
        anomaly = AnomalyReason.PAID_AFTER_CLOSE;
      } else if (payment.purpose === "ORDER") {
        const other = await tx.payment.count({
          where: { orderId: payment.orderId, id: { not: payment.id }, status: { in: [...PAID_STATES] } },
        });
        if (other > 0) anomaly = AnomalyReason.DUPLICATE_PAYMENT;
      }
      await creditMerchant(tx, payment, formatAmount(payment.amount, payment.currency));
      const event = await tx.paymentEvent.create({
        data: { paymentId: payment.id, type: "SUCCEEDED", status: "SUCCEEDED", buyerId: payment.buyerId },
      });
      if (anomaly)
        await tx.callbackAnomaly.create({
          data: {
            channel: payment.channel,
            paymentId: payment.id,
            reason: anomaly,
            detail: JSON.stringify({ notifyId: n.notifyId, action: "refunded automatically" }),
          },
        });
      await writeOutbox(tx, anomaly ? [paymentJobs.event(event.id)] : [paymentJobs.event(event.id), paymentJobs.paid(payment.id)]);
      return { outcome: "APPLIED" as const, eventId: event.id, anomaly };
    });
    if (result.outcome !== "APPLIED") return result.outcome;
    await afterCommit(this.d, "SUCCEEDED");
    if (result.anomaly) {
      await this.refunds
        .refund(
          payment.id,
          formatAmount(payment.amount, payment.currency),
          result.anomaly === AnomalyReason.DUPLICATE_PAYMENT ? "duplicate payment of the order" : "paid after the payment was closed",
          `auto:${payment.id}`,
          { notifyOrder: false },
        )
        .catch((e) => this.d.log.error({ err: e, paymentId: payment.id }, "automatic refund failed"));
    }
    return "APPLIED";
  }

  /** Job `notify-paid`: tells the order (a top-up: credits the wallet, once per payment); retried until acknowledged. */
  async notifyOrderPaid(paymentId: string): Promise<string> {
    const p = await this.reads.get(paymentId);
    if (!p || p.orderNotifiedAt) return "done";
    if (p.purpose === "WALLET_TOP_UP") return this.creditTopUp(p);
    const r = await this.d.ports.order.orderMarkPaid(defined(p.orderId, `the order of payment ${p.id}`), p.id, p.channel);
    if (r.code === "OK") {
      await this.d.prisma.payment.update({ where: { id: p.id }, data: { orderNotifiedAt: new Date() } });
      return "ok";
    }
    if (r.code === "INVALID_STATE") {
      // The order cannot take the money (cancelled meanwhile): give it back.
      await this.d.prisma.payment.update({ where: { id: p.id }, data: { orderNotifiedAt: new Date() } });
      await recordAnomaly(this.d.prisma, p.channel, p.id, "ORDER_NOT_PAYABLE", {
        orderStatus: r.status ?? null,
        action: "refunded automatically",
      });
      await this.refunds.refund(p.id, formatAmount(p.amount, p.currency), "order could not be marked paid", `auto:${p.id}`, {
        notifyOrder: false,
      });
      return "refunded";
    }
    throw new Error(`orderMarkPaid answered ${r.code}`);
  }

  /** A paid top-up enters the wallet: member's walletTopUp is idempotent per reference, so however often this runs the wallet is credited once. */
  private async creditTopUp(p: Payment): Promise<string> {
    const r = await this.d.ports.wallet.op("walletTopUp", p.buyerId, p.currency, formatAmount(p.amount, p.currency), topUpRef(p));
    if (r.code !== "OK") throw new Error(`walletTopUp answered ${r.code}`);
    await this.d.prisma.payment.updateMany({ where: { id: p.id, orderNotifiedAt: null }, data: { orderNotifiedAt: new Date() } });
    return "credited";
  }
}
