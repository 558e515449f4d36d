/**
 * Payments: create (or reuse) a payment for an order on a channel, process provider notifications
 * idempotently, close unpaid payments (after asking the channel), refunds, and the order
 * notifications that follow (through the payment-notify queue).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import type { ChannelConfig, Payment, PrismaClient, Refund } from "../generated/prisma/client.ts";
import { payFromWallet } from "../workflows/walletPayment.ts";
import { WorkflowAbort } from "../workflows/workflow.ts";
import { AnomalyReason, ChannelError, PaymentCode, SignatureError } from "../errors.ts";
import type { Channel, ChannelNotification, HttpAnswer, PaymentChannelAdapter, PaymentRecord } from "../channels/types.ts";
import type { WalletAdapter } from "../channels/wallet.ts";
import type { MerchantService } from "./merchants.ts";
import type { Ports } from "./ports.ts";

export const CHANNELS: Channel[] = ["SANDBOX", "WALLET", "ALIPAY", "WECHAT_PAY"];
const PAID_STATES = ["SUCCEEDED", "REFUNDED"] as const;
const ORDER_PAID_STATES = new Set(["PAID", "SHIPPED", "COMPLETED", "REFUNDING", "REFUNDED"]);

export interface PaymentEventModel {
  eventId: string;
  type: string;
  status: Payment["status"];
  paymentId: string;
}

export interface PaymentOptions {
  /** Seconds an unpaid payment stays open. */
  timeoutSeconds: number;
  /** Base URL providers call back (`<base>/callbacks/<channel>`). */
  callbackBaseUrl: () => string;
}

export interface PaymentDeps {
  prisma: PrismaClient;
  ports: Ports;
  adapters: Record<Channel, PaymentChannelAdapter>;
  wallet: WalletAdapter;
  merchants: MerchantService;
  timeoutsQueue: Queue;
  notifyQueue: Queue;
  redis: Redis;
  redisPrefix: string;
  options: PaymentOptions;
  log: Logger;
}

export type ApplyOutcome = "APPLIED" | "DUPLICATE" | "REFUSED";

export const CALLBACK_PATHS: Record<Exclude<Channel, "WALLET">, string> = { SANDBOX: "sandbox", ALIPAY: "alipay", WECHAT_PAY: "wechat" };

export function toRecord(p: Payment): PaymentRecord {
  return {
    id: p.id,
    checkoutRef: p.checkoutRef,
    buyerId: p.buyerId,
    orderNo: p.orderNo,
    subject: p.subject,
    amount: formatAmount(p.amount, p.currency),
    currency: p.currency,
    expiresAt: p.expiresAt,
    providerTradeNo: p.providerTradeNo,
  };
}

function newCheckoutRef(): string {
  // Provider-safe merchant trade number: letters and digits, ≤ 32 characters, roughly time-ordered.
  return `MG${Date.now().toString(36).toUpperCase()}${randomBytes(6).toString("hex").toUpperCase()}`;
}

function isUniqueViolation(e: unknown): boolean {
  const err = e as any;
  return err?.code === "P2002" || err?.code === "23505" || /unique constraint/i.test(String(err?.message)) || err?.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation";
}

function sameAmount(a: string, b: Decimal.Value | { toString(): string }): boolean {
  try {
    return new Decimal(a).eq(new Decimal(b.toString()));
  } catch {
    return false;
  }
}

export class PaymentService {
  constructor(private readonly d: PaymentDeps) {}

  get prisma() {
    return this.d.prisma;
  }

  adapter(channel: Channel): PaymentChannelAdapter {
    return this.d.adapters[channel];
  }

  async get(id: string): Promise<Payment | null> {
    return this.d.prisma.payment.findUnique({ where: { id } });
  }

  /** The payment if the member may see it (buyer), else null. */
  async getForBuyer(id: string, buyerId: string): Promise<Payment | null> {
    const p = await this.get(id);
    return p && p.buyerId === buyerId ? p : null;
  }

  forOrder(orderId: string, buyerId?: string): Promise<Payment[]> {
    return this.d.prisma.payment.findMany({ where: { orderId, ...(buyerId ? { buyerId } : {}) }, orderBy: { createdAt: "asc" } });
  }

  refunds(paymentId: string): Promise<Refund[]> {
    return this.d.prisma.refund.findMany({ where: { paymentId }, orderBy: { createdAt: "asc" } });
  }

  // ------------------------------------------------------------------ create

  async createPayment(buyerId: string, orderId: string, channel: Channel): Promise<{ code: string; message?: string; payment: Payment | null }> {
    if (!CHANNELS.includes(channel)) throw badInput(`unknown channel ${channel}`, { field: "channel" });
    const order = await this.d.ports.order.orderForPayment(orderId);
    if (!order) throw notFound("order", orderId);
    if (order.buyerId !== buyerId) throw forbidden("not your order");

    const paid = await this.d.prisma.payment.findFirst({ where: { orderId, status: { in: [...PAID_STATES] } } });
    if (paid) return { code: PaymentCode.ALREADY_PAID, message: "the order is already paid", payment: paid };
    if (order.status !== "PENDING_PAYMENT") {
      if (ORDER_PAID_STATES.has(order.status)) return { code: PaymentCode.ALREADY_PAID, message: `the order is ${order.status}`, payment: null };
      return { code: PaymentCode.ORDER_NOT_PAYABLE, message: `the order is ${order.status}`, payment: null };
    }
    const amount = parseAmount(order.payable, order.currency, { field: "payable" });

    const app = await this.d.merchants.defaultApp();
    const cfg = await this.d.merchants.channelConfig(app.id, channel);
    if (!cfg || !cfg.enabled) return { code: PaymentCode.CHANNEL_DISABLED, message: `${channel} is not enabled`, payment: null };

    const open = await this.d.prisma.payment.findFirst({ where: { orderId, channel, status: "PENDING" } });
    if (open) {
      if (open.expiresAt.getTime() > Date.now()) return { code: PaymentCode.OK, payment: open };
      // Expired but its close job has not run yet: close it now (asking the channel first).
      if ((await this.closePayment(open.id)) === "recovered") return { code: PaymentCode.ALREADY_PAID, message: "the order is already paid", payment: await this.get(open.id) };
    }

    let payment: Payment;
    try {
      payment = await this.d.prisma.payment.create({
        data: {
          orderId,
          orderNo: order.orderNo,
          buyerId,
          appId: app.id,
          merchantId: app.merchantId,
          channel,
          amount: amount.toString(),
          currency: order.currency,
          subject: order.subject || `Order ${order.orderNo}`,
          checkoutRef: newCheckoutRef(),
          expiresAt: new Date(Date.now() + this.d.options.timeoutSeconds * 1000),
          walletFrozen: channel === "WALLET",
        },
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.payment.findFirst({ where: { orderId, channel, status: "PENDING" } });
      if (again) return { code: PaymentCode.OK, payment: again };
      throw e;
    }

    if (channel === "WALLET") return this.payFromWallet(payment, cfg);

    const notifyUrl = `${this.d.options.callbackBaseUrl()}/callbacks/${CALLBACK_PATHS[channel as keyof typeof CALLBACK_PATHS] ?? "none"}`;
    let checkout;
    try {
      checkout = await this.adapter(channel).createCheckout(toRecord(payment), cfg, notifyUrl);
    } catch (e) {
      if (!(e instanceof ChannelError)) {
        // Unknown outcome: keep it open; the time-out asks the channel and closes it.
        await this.scheduleClose(payment);
        throw e;
      }
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      return { code: PaymentCode.CHANNEL_ERROR, message: e.message, payment: null };
    }
    if (checkout.refusal) {
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      return { code: checkout.refusal, message: `the channel refused: ${checkout.refusal}`, payment: null };
    }
    payment = await this.d.prisma.payment.update({
      where: { id: payment.id },
      data: { clientPayload: JSON.stringify(checkout.payload), providerTradeNo: checkout.providerTradeNo ?? null },
    });
    await this.scheduleClose(payment);
    return { code: PaymentCode.OK, payment };
  }

  /** WALLET: the freeze → capture → book workflow (src/workflows/walletPayment.ts). */
  private async payFromWallet(payment: Payment, cfg: ChannelConfig): Promise<{ code: string; message?: string; payment: Payment | null }> {
    // The time-out is the safety net for whatever the workflow leaves open (it asks the wallet first).
    await this.scheduleClose(payment);
    const result = await payFromWallet(
      {
        payment,
        record: toRecord(payment),
        cfg,
        wallet: this.d.wallet,
        markFrozen: async (payload) => {
          await this.d.prisma.payment.update({ where: { id: payment.id }, data: { clientPayload: JSON.stringify(payload) } });
        },
        applyPaid: (n) => this.applyPaid(payment, n),
        undoFreeze: async () => {
          await this.closePayment(payment.id, { force: true });
        },
      },
      this.d.log,
    );
    if (result.ok) return { code: PaymentCode.OK, payment: await this.get(payment.id) };
    if (result.error instanceof WorkflowAbort) {
      // Refused by the wallet before anything was frozen: nothing is kept.
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      await this.d.timeoutsQueue.remove(`close-${payment.id}`).catch(() => undefined);
      return { code: result.error.code, message: `the wallet refused: ${result.error.code}`, payment: null };
    }
    this.d.log.warn({ err: result.error, paymentId: payment.id, step: result.failedStep, compensated: result.compensated, compensationFailed: result.compensationFailed }, "wallet payment failed");
    const now = await this.get(payment.id);
    // The compensation may have found the capture done (answer lost): then the payment is paid.
    if (now?.status === "SUCCEEDED") return { code: PaymentCode.OK, payment: now };
    return { code: PaymentCode.CHANNEL_ERROR, message: (result.error as Error)?.message ?? "wallet error", payment: now };
  }

  private async scheduleClose(p: Payment): Promise<void> {
    await this.d.timeoutsQueue.add("close-expired", { paymentId: p.id }, { jobId: `close-${p.id}`, delay: Math.max(0, p.expiresAt.getTime() - Date.now()), attempts: 10, backoff: { type: "exponential", delay: 2000 } });
  }

  // ------------------------------------------------------------------ notifications

  /** A provider callback: verify, check amount, apply once. Answers what the provider expects. */
  async handleCallback(channel: Channel, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<HttpAnswer> {
    const adapter = this.adapter(channel);
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
      await this.anomaly(channel, payment?.id ?? null, AnomalyReason.UNKNOWN_TRADE, { outTradeNo: n.outTradeNo, notifyId: n.notifyId });
      return adapter.nack("unknown trade");
    }
    if (!n.paid) return adapter.ack(); // progress notifications (waiting, closed) change nothing here
    const outcome = await this.applyPaid(payment, n);
    return outcome === "REFUSED" ? adapter.nack("refused") : adapter.ack();
  }

  private async anomaly(channel: Channel, paymentId: string | null, reason: string, detail: Record<string, unknown>): Promise<void> {
    await this.d.prisma.callbackAnomaly.create({ data: { channel, paymentId, reason, detail: JSON.stringify(detail) } });
  }

  /**
   * Applies a verified "paid" notification exactly once: unique notification id, conditional
   * PENDING → SUCCEEDED, merchant ledger credit and the event in one transaction; after commit the
   * live event and the order notification job. Wrong amount or currency: refused, recorded.
   */
  async applyPaid(payment: Payment, n: ChannelNotification): Promise<ApplyOutcome> {
    if (n.currency !== payment.currency) {
      await this.anomaly(payment.channel, payment.id, AnomalyReason.CURRENCY_MISMATCH, { expected: payment.currency, got: n.currency, notifyId: n.notifyId });
      return "REFUSED";
    }
    if (!sameAmount(n.amount, payment.amount)) {
      await this.anomaly(payment.channel, payment.id, AnomalyReason.AMOUNT_MISMATCH, { expected: formatAmount(payment.amount, payment.currency), got: n.amount, notifyId: n.notifyId });
      return "REFUSED";
    }
    const result = await this.d.prisma.$transaction(async (tx) => {
      const fresh = await tx.paymentNotification.createMany({ data: [{ channel: payment.channel, notifyId: n.notifyId, paymentId: payment.id }], skipDuplicates: true });
      if (fresh.count === 0) return { outcome: "DUPLICATE" as const };
      const paidAt = n.paidAt ?? new Date();
      const won = await tx.payment.updateMany({ where: { id: payment.id, status: "PENDING" }, data: { status: "SUCCEEDED", paidAt, providerTradeNo: n.providerTradeNo ?? payment.providerTradeNo, walletFrozen: false } });
      let anomaly: string | undefined;
      if (won.count === 0) {
        // Money arrived for a payment we had closed: reopen it as paid, then refund it automatically.
        const reopened = await tx.payment.updateMany({ where: { id: payment.id, status: "CLOSED" }, data: { status: "SUCCEEDED", paidAt, providerTradeNo: n.providerTradeNo ?? payment.providerTradeNo } });
        if (reopened.count === 0) return { outcome: "DUPLICATE" as const }; // already paid (another notification or a query)
        anomaly = AnomalyReason.PAID_AFTER_CLOSE;
      } else {
        const other = await tx.payment.count({ where: { orderId: payment.orderId, id: { not: payment.id }, status: { in: [...PAID_STATES] } } });
        if (other > 0) anomaly = AnomalyReason.DUPLICATE_PAYMENT;
      }
      await creditMerchant(tx, payment, formatAmount(payment.amount, payment.currency));
      const event = await tx.paymentEvent.create({ data: { paymentId: payment.id, type: "SUCCEEDED", status: "SUCCEEDED", buyerId: payment.buyerId } });
      if (anomaly) await tx.callbackAnomaly.create({ data: { channel: payment.channel, paymentId: payment.id, reason: anomaly, detail: JSON.stringify({ notifyId: n.notifyId, action: "refunded automatically" }) } });
      return { outcome: "APPLIED" as const, eventId: event.id, anomaly };
    });
    if (result.outcome !== "APPLIED") return result.outcome;
    await this.publish(payment, result.eventId!);
    if (result.anomaly) {
      await this.refund(payment.id, formatAmount(payment.amount, payment.currency), result.anomaly === AnomalyReason.DUPLICATE_PAYMENT ? "duplicate payment of the order" : "paid after the payment was closed", `auto:${payment.id}`, { notifyOrder: false }).catch((e) =>
        this.d.log.error({ err: e, paymentId: payment.id }, "automatic refund failed"),
      );
    } else {
      await this.d.notifyQueue.add("notify-paid", { paymentId: payment.id }, { jobId: `notify-paid-${payment.id}`, attempts: 30, backoff: { type: "exponential", delay: 1000 } });
    }
    return "APPLIED";
  }

  private async publish(p: Payment, eventId: string): Promise<void> {
    await publishLiveEvent(this.d.redis, this.d.redisPrefix, "paymentStatusChanged", { eventId, keys: { paymentId: p.id }, audience: [p.buyerId] }).catch((e) =>
      this.d.log.warn({ err: e }, "live event not published"),
    );
  }

  async event(paymentId: string, eventId: string): Promise<(PaymentEventModel & { buyerId: string }) | null> {
    const e = await this.d.prisma.paymentEvent.findUnique({ where: { id: eventId } });
    if (!e || e.paymentId !== paymentId) return null;
    return { eventId: e.id, type: e.type, status: e.status, paymentId: e.paymentId, buyerId: e.buyerId };
  }

  /** Job `notify-paid`: tells the order; retried until the order acknowledges. */
  async notifyOrderPaid(paymentId: string): Promise<string> {
    const p = await this.get(paymentId);
    if (!p || p.orderNotifiedAt) return "done";
    const r = await this.d.ports.order.orderMarkPaid(p.orderId, p.id, p.channel);
    if (r.code === "OK") {
      await this.d.prisma.payment.update({ where: { id: p.id }, data: { orderNotifiedAt: new Date() } });
      return "ok";
    }
    if (r.code === "INVALID_STATE") {
      // The order cannot take the money (cancelled meanwhile): give it back.
      await this.d.prisma.payment.update({ where: { id: p.id }, data: { orderNotifiedAt: new Date() } });
      await this.anomaly(p.channel, p.id, "ORDER_NOT_PAYABLE", { orderStatus: r.status ?? null, action: "refunded automatically" });
      await this.refund(p.id, formatAmount(p.amount, p.currency), "order could not be marked paid", `auto:${p.id}`, { notifyOrder: false });
      return "refunded";
    }
    throw new Error(`orderMarkPaid answered ${r.code}`);
  }

  // ------------------------------------------------------------------ close / recovery

  /**
   * Job `close-expired` (and the buyer's closePayment): asks the channel first — a payment the
   * provider reports paid is recovered as paid (missing callback); otherwise closes it at the
   * provider and here, and releases a frozen wallet amount.
   */
  async closePayment(paymentId: string, opts: { force?: boolean } = {}): Promise<"recovered" | "closed" | "not-due" | "done"> {
    let p = await this.get(paymentId);
    if (!p) return "done";
    const cfg = await this.d.merchants.channelConfig(p.appId, p.channel);
    const adapter = this.adapter(p.channel);
    if (p.status === "CLOSED" && p.walletFrozen) {
      // Closed, but the wallet release did not finish: ask again.
      const again = await adapter.close(toRecord(p), cfg!);
      if (again.status === "PAID") await this.applyPaid(p, { notifyId: `query:${p.checkoutRef}`, outTradeNo: p.checkoutRef, amount: again.amount ?? "", currency: again.currency ?? p.currency, paid: true });
      else await this.d.prisma.payment.update({ where: { id: p.id }, data: { walletFrozen: false } });
      return "closed";
    }
    if (p.status !== "PENDING") return "done";
    if (!opts.force && p.expiresAt.getTime() > Date.now()) return "not-due";
    // Ask the channel before closing (closing at the provider answers its final state).
    const remote = cfg ? await adapter.close(toRecord(p), cfg) : { status: "CLOSED" as const };
    if (remote.status === "PAID") {
      const outcome = await this.applyPaid(p, { notifyId: `query:${remote.providerTradeNo ?? p.checkoutRef}`, outTradeNo: p.checkoutRef, providerTradeNo: remote.providerTradeNo, amount: remote.amount ?? "", currency: remote.currency ?? p.currency, paid: true, paidAt: remote.paidAt });
      if (outcome !== "REFUSED") return "recovered";
      return "done";
    }
    const eventId = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.payment.updateMany({ where: { id: p!.id, status: "PENDING" }, data: { status: "CLOSED", closedAt: new Date(), walletFrozen: false } });
      if (!r.count) return null;
      return (await tx.paymentEvent.create({ data: { paymentId: p!.id, type: "CLOSED", status: "CLOSED", buyerId: p!.buyerId } })).id;
    });
    if (!eventId) return "done";
    p = (await this.get(paymentId))!;
    await this.publish(p, eventId);
    return "closed";
  }

  /** The buyer closes their own open payment. */
  async closeByBuyer(buyerId: string, paymentId: string): Promise<Payment> {
    const p = await this.getForBuyer(paymentId, buyerId);
    if (!p) throw notFound("payment", paymentId);
    if (p.status !== "PENDING") throw new AppError(ErrorCode.INVALID_STATE, `payment is ${p.status}`);
    await this.closePayment(paymentId, { force: true });
    return (await this.get(paymentId))!;
  }

  /** Re-enqueues work whose job may have been lost (crash between commit and enqueue). */
  async sweep(): Promise<{ notify: number; close: number }> {
    const stale = new Date(Date.now() - 60_000);
    const unnotified = await this.d.prisma.payment.findMany({ where: { status: { in: [...PAID_STATES] }, orderNotifiedAt: null, paidAt: { lt: stale }, refundedAmount: 0 }, select: { id: true }, take: 500 });
    // A fresh job id: the original may sit in the failed set after exhausting its attempts.
    const bucket = Math.floor(Date.now() / 60_000);
    for (const p of unnotified) await this.d.notifyQueue.add("notify-paid", { paymentId: p.id }, { jobId: `notify-paid-${p.id}-sweep-${bucket}`, attempts: 30, backoff: { type: "exponential", delay: 1000 } });
    const expired = await this.d.prisma.payment.findMany({ where: { OR: [{ status: "PENDING", expiresAt: { lt: stale } }, { status: "CLOSED", walletFrozen: true }] }, select: { id: true }, take: 500 });
    for (const p of expired) await this.d.timeoutsQueue.add("close-expired", { paymentId: p.id }, { jobId: `close-sweep-${p.id}-${Math.floor(Date.now() / 60_000)}` });
    return { notify: unnotified.length, close: expired.length };
  }

  // ------------------------------------------------------------------ refunds

  /**
   * Refunds `amount` of a paid payment through its channel. The sum of refunds never exceeds the
   * paid amount (conditional update under the row lock); idempotent per `reference`. Each refund is
   * booked by the order (orderMarkRefunded; the last one makes it REFUNDED) unless `notifyOrder` is
   * false (automatic refunds of duplicate or late payments, which the order never took).
   */
  async refund(paymentId: string, amountText: string, reason: string, reference: string, opts: { notifyOrder?: boolean } = {}): Promise<{ code: string; message?: string; refund: Refund | null; payment: Payment | null }> {
    const p = await this.get(paymentId);
    if (!p) throw notFound("payment", paymentId);
    const amount = parseAmount(amountText, p.currency);
    if (!reason.trim()) throw badInput("reason is required", { field: "reason" });
    const existing = await this.d.prisma.refund.findUnique({ where: { reference } });
    if (existing) return { code: PaymentCode.OK, refund: existing, payment: await this.get(paymentId) };

    let refund: Refund | null;
    try {
      refund = await this.d.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ id: string }>>`
          UPDATE "Payment" SET "refundedAmount" = "refundedAmount" + ${amount.toString()}::numeric, "updatedAt" = now()
          WHERE id = ${p.id} AND status = 'SUCCEEDED' AND "refundedAmount" + ${amount.toString()}::numeric <= amount
          RETURNING id`;
        if (!rows.length) return null;
        return tx.refund.create({ data: { paymentId: p.id, amount: amount.toString(), currency: p.currency, reason: reason.slice(0, 200), reference } });
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.refund.findUnique({ where: { reference } });
      return { code: PaymentCode.OK, refund: again, payment: await this.get(paymentId) };
    }
    if (!refund) {
      const cur = (await this.get(paymentId))!;
      if (cur.status !== "SUCCEEDED") return { code: PaymentCode.NOT_REFUNDABLE, message: `payment is ${cur.status}`, refund: null, payment: cur };
      const left = new Decimal(cur.amount.toString()).minus(cur.refundedAmount.toString());
      return { code: PaymentCode.EXCEEDS_REFUNDABLE, message: `at most ${formatAmount(left, cur.currency)} can be refunded`, refund: null, payment: cur };
    }

    const cfg = await this.d.merchants.channelConfig(p.appId, p.channel);
    let outcome;
    try {
      if (!cfg) throw new ChannelError(`${p.channel} is not configured for the app`);
      outcome = await this.adapter(p.channel).refund(toRecord(p), { id: refund.id, amount: formatAmount(amount, p.currency), reason }, cfg);
    } catch (e) {
      outcome = { status: "FAILED" as const, message: (e as Error).message };
    }
    if (outcome.status === "FAILED") {
      await this.failRefund(refund.id, outcome.message);
      return { code: PaymentCode.CHANNEL_ERROR, message: outcome.message, refund: await this.d.prisma.refund.findUnique({ where: { id: refund.id } }), payment: await this.get(p.id) };
    }
    if (outcome.status === "PENDING") {
      // The provider is still processing (WeChat Pay PROCESSING): poll it until it settles.
      await this.d.prisma.refund.update({ where: { id: refund.id }, data: { providerRefundNo: outcome.providerRefundNo ?? null } });
      await this.d.timeoutsQueue.add("query-refund", { refundId: refund.id }, { jobId: `query-refund-${refund.id}`, delay: 5000, attempts: 20, backoff: { type: "exponential", delay: 5000 } });
      return { code: PaymentCode.OK, refund: await this.d.prisma.refund.findUnique({ where: { id: refund.id } }), payment: await this.get(p.id) };
    }
    return this.completeRefund(refund.id, outcome.providerRefundNo, opts.notifyOrder !== false);
  }

  /** A refund the channel refused: the amount becomes refundable again. */
  private async failRefund(refundId: string, message: string | undefined): Promise<void> {
    await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.refund.updateMany({ where: { id: refundId, status: "PENDING" }, data: { status: "FAILED", failure: message?.slice(0, 500) ?? null, completedAt: new Date() } });
      if (r.count === 0) return;
      const refund = await tx.refund.findUniqueOrThrow({ where: { id: refundId } });
      await tx.$executeRaw`UPDATE "Payment" SET "refundedAmount" = "refundedAmount" - ${refund.amount.toString()}::numeric WHERE id = ${refund.paymentId}`;
    });
  }

  /** Job `query-refund`: asks the channel about a refund still processing; throws (retry) while it is. */
  async pollRefund(refundId: string): Promise<string> {
    const r = await this.d.prisma.refund.findUnique({ where: { id: refundId }, include: { payment: true } });
    if (!r || r.status !== "PENDING") return "done";
    const adapter = this.adapter(r.payment.channel);
    const cfg = await this.d.merchants.channelConfig(r.payment.appId, r.payment.channel);
    if (!adapter.queryRefund || !cfg) throw new Error(`cannot query refunds on ${r.payment.channel}`);
    const outcome = await adapter.queryRefund(toRecord(r.payment), r.id, cfg);
    if (outcome.status === "PENDING") throw new Error("refund still processing");
    if (outcome.status === "FAILED") {
      await this.failRefund(r.id, outcome.message);
      return "failed";
    }
    await this.completeRefund(r.id, outcome.providerRefundNo ?? r.providerRefundNo ?? undefined, !r.reference.startsWith("auto:"));
    return "succeeded";
  }

  /** A refund the channel confirmed: ledger debit; a full refund marks the payment REFUNDED. */
  async completeRefund(refundId: string, providerRefundNo: string | undefined, notifyOrder: boolean) {
    const { refund, eventId } = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.refund.updateMany({ where: { id: refundId, status: "PENDING" }, data: { status: "SUCCEEDED", providerRefundNo: providerRefundNo ?? null, completedAt: new Date() } });
      const refund = await tx.refund.findUniqueOrThrow({ where: { id: refundId } });
      if (r.count === 0) return { refund, full: false, eventId: undefined };
      const p = await tx.payment.findUniqueOrThrow({ where: { id: refund.paymentId } });
      await debitMerchant(tx, p, refund);
      const succeeded = await tx.refund.aggregate({ where: { paymentId: p.id, status: "SUCCEEDED" }, _sum: { amount: true } });
      const full = new Decimal((succeeded._sum.amount ?? 0).toString()).eq(p.amount.toString());
      let eventId: string | undefined;
      if (full) {
        await tx.payment.updateMany({ where: { id: p.id, status: "SUCCEEDED" }, data: { status: "REFUNDED" } });
        eventId = (await tx.paymentEvent.create({ data: { paymentId: p.id, type: "REFUNDED", status: "REFUNDED", buyerId: p.buyerId } })).id;
      }
      return { refund, full, eventId };
    });
    const payment = (await this.get(refund.paymentId))!;
    if (eventId) await this.publish(payment, eventId);
    // The order books every refund of its payment (idempotent per refund id); the full one moves it to REFUNDED.
    if (notifyOrder) await this.d.notifyQueue.add("notify-refunded", { refundId: refund.id }, { jobId: `notify-refunded-${refund.id}`, attempts: 30, backoff: { type: "exponential", delay: 1000 } });
    return { code: PaymentCode.OK, refund, payment };
  }

  /** Job `notify-refunded`: the order books the refund (its amount); the one completing the payment refunds the order. */
  async notifyOrderRefunded(refundId: string): Promise<string> {
    const r = await this.d.prisma.refund.findUnique({ where: { id: refundId }, include: { payment: true } });
    if (!r || r.status !== "SUCCEEDED") return "done";
    const res = await this.d.ports.order.orderMarkRefunded(r.payment.orderId, r.id, formatAmount(r.amount, r.currency));
    if (res.code !== "OK" && res.code !== "INVALID_STATE") throw new Error(`orderMarkRefunded answered ${res.code}`);
    return res.code;
  }

  /** Internal (order after-sales): refund the order's paid payment. */
  async refundOrder(orderId: string, amount: string, reason: string, reference: string) {
    const p = await this.d.prisma.payment.findFirst({ where: { orderId, status: { in: [...PAID_STATES] } }, orderBy: { paidAt: "asc" } });
    if (!p) return { code: PaymentCode.NOT_REFUNDABLE, message: "the order has no paid payment", refund: null, payment: null };
    return this.refund(p.id, amount, reason, `order:${reference}`);
  }

  // ------------------------------------------------------------------ sandbox buyer

  /** Status of a payment on the sandbox, used by sandboxCompletePayment to check the caller. */
  byCheckoutRef(checkoutRef: string): Promise<Payment | null> {
    return this.d.prisma.payment.findUnique({ where: { checkoutRef } });
  }
}

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

async function bookMerchant(tx: Tx, p: Payment, signed: string, type: string, reference: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string; balance: string }>>`
    INSERT INTO "MerchantAccount" (id, "merchantId", currency, balance)
    VALUES (${randomUUID()}, ${p.merchantId}, ${p.currency}, ${signed}::numeric)
    ON CONFLICT ("merchantId", currency) DO UPDATE SET balance = "MerchantAccount".balance + EXCLUDED.balance
    RETURNING id, balance::text AS balance`;
  const acc = rows[0]!;
  await tx.merchantLedgerEntry.create({ data: { accountId: acc.id, type, amount: signed, balanceAfter: acc.balance, paymentId: p.id, channel: p.channel, reference } });
}

function creditMerchant(tx: Tx, p: Payment, amount: string) {
  return bookMerchant(tx, p, amount, "CAPTURE", `capture:${p.id}`);
}

function debitMerchant(tx: Tx, p: Payment, r: Refund) {
  return bookMerchant(tx, p, new Decimal(r.amount.toString()).neg().toString(), "REFUND", `refund:${r.id}`);
}
