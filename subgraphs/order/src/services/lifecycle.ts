/**
 * An order's life after placement: the buyer's cancel, the payment time-out, payment, shipping
 * and tracking, receipt. Each status change goes through OrderTransitions; the side effects in
 * other domains (release / confirm stock, coupons) run after the commit.
 */
import { randomUUID } from "node:crypto";
import { badInput, defined } from "@mallgraph/platform/errors";
import { OrderCode, message } from "../errors.ts";
import { FollowUpJob, type OrderFollowUps } from "./follow-ups.ts";
import { orderShippedMessage } from "./messages.ts";
import type { OrderReads } from "./read.ts";
import type { OrderServiceDeps } from "./shared.ts";
import type { OrderTransitions } from "./transitions.ts";
import type { OrderOutcome, OrderRecord, TransitionOutcome } from "./types.ts";

/** Time-outs of one batch job run this many at a time (the worker's own concurrency, createWorker). */
const BATCH_CANCEL_CONCURRENCY = 8;

export class OrderLifecycle {
  constructor(
    private readonly d: OrderServiceDeps,
    private readonly reads: OrderReads,
    private readonly transitions: OrderTransitions,
    private readonly jobs: OrderFollowUps,
  ) {}

  /** Buyer cancels an unpaid order; the stock goes back. */
  async cancel(orderId: string, buyerId: string): Promise<OrderOutcome> {
    const o = await this.reads.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const r = await this.transitions.move(orderId, "cancel", {
      reason: "BUYER_CANCELLED",
      actor: buyerId,
      patch: () => ({ cancelledAt: new Date(), cancelReason: "BUYER_CANCELLED" }),
    });
    if (r.code === OrderCode.OK) await this.afterCancel(defined(r.order, "the cancelled order"));
    return { code: r.code, message: message(r.code), order: r.order };
  }

  /**
   * The payment time-out: cancels when still unpaid and due. Returns "NOT_DUE" (with the delay
   * left) when run early, so the job can come back later.
   */
  async cancelIfUnpaid(orderId: string, now = new Date()): Promise<{ code: string; retryInMs?: number }> {
    const o = await this.reads.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND };
    if (o.status !== "PENDING_PAYMENT") return { code: OrderCode.INVALID_STATE };
    if (o.expiresAt.getTime() > now.getTime() + 500) return { code: "NOT_DUE", retryInMs: o.expiresAt.getTime() - now.getTime() };
    const r = await this.transitions.move(orderId, "timeout", {
      reason: "PAYMENT_TIMEOUT",
      actor: "system",
      patch: () => ({ cancelledAt: new Date(), cancelReason: "PAYMENT_TIMEOUT" }),
    });
    if (r.code === OrderCode.OK) await this.afterCancel(defined(r.order, "the timed-out order"));
    return { code: r.code };
  }

  /**
   * The payment time-out of a batch's orders (one `cancel-unpaid-batch` job): `cancelIfUnpaid` for
   * each, a few at a time. Answers how many were cancelled, the ones not due yet (with the longest
   * wait left) and the ones that failed (the job retries them; a repeat of the others changes nothing).
   */
  async cancelUnpaidBatch(
    orderIds: string[],
    now = new Date(),
  ): Promise<{ cancelled: number; notDue: string[]; retryInMs: number; failed: string[] }> {
    const out = { cancelled: 0, notDue: [] as string[], retryInMs: 0, failed: [] as string[] };
    for (let i = 0; i < orderIds.length; i += BATCH_CANCEL_CONCURRENCY) {
      const ids = orderIds.slice(i, i + BATCH_CANCEL_CONCURRENCY);
      const rs = await Promise.allSettled(ids.map((id) => this.cancelIfUnpaid(id, now)));
      rs.forEach((r, n) => {
        const id = ids[n] ?? "";
        if (r.status === "rejected") {
          this.d.log.warn({ err: r.reason, orderId: id }, "payment time-out failed; the job retries it");
          out.failed.push(id);
        } else if (r.value.code === OrderCode.OK) out.cancelled++;
        else if (r.value.code === "NOT_DUE") {
          out.notDue.push(id);
          out.retryInMs = Math.max(out.retryInMs, r.value.retryInMs ?? 0);
        }
      });
    }
    return out;
  }

  /**
   * The payment time-out of every order (decision 0051): the workers run it every second (a BullMQ
   * job scheduler: one run at a time over all workers). Cancels the unpaid orders that are due, the
   * oldest first, `limit` at a time (`cancelUnpaidBatch`: 8 at once) until none is left or the run has
   * taken `budgetMs` (the next run goes on); a page that cancels nothing (a service down) ends the run.
   */
  async sweepExpired(limit = 200, budgetMs = 10_000): Promise<number> {
    const until = Date.now() + budgetMs;
    let n = 0;
    for (;;) {
      const now = new Date();
      const due = await this.d.prisma.order.findMany({
        where: { status: "PENDING_PAYMENT", expiresAt: { lte: now } },
        select: { id: true },
        orderBy: { expiresAt: "asc" },
        take: limit,
      });
      if (!due.length) return n;
      const r = await this.cancelUnpaidBatch(
        due.map((o) => o.id),
        now,
      );
      n += r.cancelled;
      if (due.length < limit || r.cancelled === 0 || Date.now() > until) return n;
    }
  }

  private async afterCancel(order: OrderRecord): Promise<void> {
    await this.jobs.followUp(FollowUpJob.releaseStock, { key: order.reservationKey, orderId: order.id }, () =>
      this.d.catalog.release(order.reservationKey),
    );
    if (order.couponId)
      await this.d.promotion.releaseCoupon(order.id).catch((e) => this.d.log.warn({ err: e, orderId: order.id }, "coupon release failed"));
  }

  /** Payment succeeded (internal, idempotent per payment). */
  async markPaid(orderId: string, paymentId: string, channel: string): Promise<TransitionOutcome> {
    if (!paymentId?.trim() || !channel?.trim()) throw badInput("paymentId and channel are required");
    const o = await this.reads.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, status: null };
    if (o.paymentId === paymentId) return { code: OrderCode.OK, status: o.status };
    const r = await this.transitions.move(orderId, "pay", {
      reason: `PAID:${channel}`,
      actor: "payment",
      patch: () => ({ paymentId, paymentChannel: channel, paidAt: new Date() }),
    });
    if (r.code === OrderCode.OK) {
      const order = defined(r.order, "the paid order");
      await this.jobs.followUp(FollowUpJob.confirmStock, { key: order.reservationKey, orderId }, () =>
        this.d.catalog.confirm(order.reservationKey),
      );
      if (order.couponId)
        await this.d.promotion.consumeCoupon(orderId).catch((e) => this.d.log.warn({ err: e, orderId }, "coupon consume failed"));
      return { code: OrderCode.OK, status: order.status };
    }
    const now = r.order ?? (await this.reads.get(orderId));
    if (now?.paymentId === paymentId) return { code: OrderCode.OK, status: now.status };
    return { code: OrderCode.INVALID_STATE, status: now?.status ?? null };
  }

  async ship(orderId: string, carrier: string, trackingNo: string, actor: string): Promise<OrderOutcome> {
    carrier = carrier?.trim();
    trackingNo = trackingNo?.trim();
    if (!carrier || carrier.length > 64) throw badInput("carrier is required (at most 64 characters)", { field: "carrier" });
    if (!trackingNo || trackingNo.length > 64) throw badInput("trackingNo is required (at most 64 characters)", { field: "trackingNo" });
    const r = await this.transitions.move(orderId, "ship", {
      reason: "SHIPPED",
      actor,
      patch: () => ({ shippedAt: new Date() }),
      inTx: async (tx) => {
        await tx.shipment.create({ data: { id: randomUUID(), orderId, carrier, trackingNo } });
        await orderShippedMessage(tx, orderId, carrier, trackingNo);
      },
    });
    return { code: r.code, message: message(r.code), order: r.order };
  }

  async addTrackingEvent(
    orderId: string,
    ev: { status: string; description?: string | null; location?: string | null; occurredAt?: string | null },
  ): Promise<OrderOutcome> {
    if (!ev.status?.trim() || ev.status.length > 64)
      throw badInput("status is required (at most 64 characters)", { field: "event.status" });
    if ((ev.description?.length ?? 0) > 500 || (ev.location?.length ?? 0) > 200)
      throw badInput("description or location too long", { field: "event" });
    const at = ev.occurredAt ? new Date(ev.occurredAt) : new Date();
    if (Number.isNaN(at.getTime())) throw badInput("occurredAt must be an ISO time", { field: "event.occurredAt" });
    const o = await this.reads.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const s = await this.d.prisma.shipment.findUnique({ where: { orderId } });
    if (!s) return { code: OrderCode.INVALID_STATE, message: "the order has not been shipped", order: o };
    await this.d.prisma.trackingEvent.create({
      data: {
        id: randomUUID(),
        shipmentId: s.id,
        status: ev.status.trim(),
        description: ev.description ?? null,
        location: ev.location ?? null,
        occurredAt: at,
      },
    });
    return { code: OrderCode.OK, message: null, order: o };
  }

  async confirmReceipt(orderId: string, buyerId: string): Promise<OrderOutcome> {
    const o = await this.reads.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const r = await this.transitions.move(orderId, "confirmReceipt", {
      reason: "RECEIVED",
      actor: buyerId,
      patch: () => ({ completedAt: new Date() }),
    });
    return { code: r.code, message: message(r.code), order: r.order };
  }
}
