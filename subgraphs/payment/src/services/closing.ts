/**
 * Closing unpaid payments: the time-out job and the buyer's close ask the channel first (a payment
 * the provider reports paid is recovered as paid), then close at the provider and here; the sweep
 * re-enqueues notify and close jobs that may have been lost.
 */
import { AppError, notFound, defined } from "@mallgraph/platform/errors";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { PaymentErrorCode } from "../errors.ts";
import type { Payment } from "../generated/prisma/client.ts";
import type { PaymentNotifications } from "./notifications.ts";
import type { PaymentReads } from "./read.ts";
import { afterCommit, NOTIFY_JOB_OPTIONS, PAID_STATES, paymentJobs, toRecord, type PaymentDeps } from "./shared.ts";

export class PaymentClosing {
  constructor(
    private readonly d: PaymentDeps,
    private readonly reads: PaymentReads,
    private readonly notifications: PaymentNotifications,
  ) {}

  /**
   * Job `close-expired` (and the buyer's closePayment): asks the channel first — a payment the
   * provider reports paid is recovered as paid (missing callback); otherwise closes it at the
   * provider and here, and releases a frozen wallet amount.
   */
  async closePayment(paymentId: string, opts: { force?: boolean } = {}): Promise<"recovered" | "closed" | "not-due" | "done"> {
    const p = await this.reads.get(paymentId);
    if (!p) return "done";
    const cfg = await this.d.merchants.channelConfig(p.appId, p.channel);
    const adapter = this.d.adapters[p.channel];
    if (p.status === "CLOSED" && p.walletFrozen) {
      // Closed, but the wallet release did not finish: ask again.
      const again = await adapter.close(toRecord(p), defined(cfg, `the ${p.channel} config of app ${p.appId}`)); // configs are never deleted
      if (again.status === "PAID")
        await this.notifications.applyPaid(p, {
          notifyId: `query:${p.checkoutRef}`,
          outTradeNo: p.checkoutRef,
          amount: again.amount ?? "",
          currency: again.currency ?? p.currency,
          paid: true,
        });
      else await this.d.prisma.payment.update({ where: { id: p.id }, data: { walletFrozen: false } });
      return "closed";
    }
    if (p.status !== "PENDING") return "done";
    if (!opts.force && p.expiresAt.getTime() > Date.now()) return "not-due";
    // Ask the channel before closing (closing at the provider answers its final state).
    const remote = cfg ? await adapter.close(toRecord(p), cfg) : { status: "CLOSED" as const };
    if (remote.status === "PAID") {
      const outcome = await this.notifications.applyPaid(p, {
        notifyId: `query:${remote.providerTradeNo ?? p.checkoutRef}`,
        outTradeNo: p.checkoutRef,
        providerTradeNo: remote.providerTradeNo,
        amount: remote.amount ?? "",
        currency: remote.currency ?? p.currency,
        paid: true,
        paidAt: remote.paidAt,
      });
      if (outcome !== "REFUSED") return "recovered";
      return "done";
    }
    const closed = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.payment.updateMany({
        where: { id: p.id, status: "PENDING" },
        data: { status: "CLOSED", closedAt: new Date(), walletFrozen: false },
      });
      if (!r.count) return false;
      const event = await tx.paymentEvent.create({ data: { paymentId: p.id, type: "CLOSED", status: "CLOSED", buyerId: p.buyerId } });
      await writeOutbox(tx, [paymentJobs.event(event.id)]);
      return true;
    });
    if (!closed) return "done";
    await afterCommit(this.d, "CLOSED");
    return "closed";
  }

  /** The buyer closes their own open payment. */
  async closeByBuyer(buyerId: string, paymentId: string): Promise<Payment> {
    const p = await this.reads.getForBuyer(paymentId, buyerId);
    if (!p) throw notFound("payment", paymentId);
    if (p.status !== "PENDING") throw new AppError(PaymentErrorCode.INVALID_STATE, `payment is ${p.status}`);
    await this.closePayment(paymentId, { force: true });
    return defined(await this.reads.get(paymentId), `payment ${paymentId}`);
  }

  /** Re-enqueues work whose job may have been lost (crash between commit and enqueue). */
  async sweep(): Promise<{ notify: number; close: number }> {
    const stale = new Date(Date.now() - 60_000);
    const unnotified = await this.d.prisma.payment.findMany({
      where: { status: { in: [...PAID_STATES] }, orderNotifiedAt: null, paidAt: { lt: stale }, refundedAmount: 0 },
      select: { id: true },
      take: 500,
    });
    // A fresh job id: the original may sit in the failed set after exhausting its attempts.
    const bucket = Math.floor(Date.now() / 60_000);
    for (const p of unnotified)
      await this.d.notifyQueue.add(
        "notify-paid",
        { paymentId: p.id },
        { ...NOTIFY_JOB_OPTIONS, jobId: `notify-paid-${p.id}-sweep-${bucket}` },
      );
    const expired = await this.d.prisma.payment.findMany({
      where: {
        OR: [
          { status: "PENDING", expiresAt: { lt: stale } },
          { status: "CLOSED", walletFrozen: true },
        ],
      },
      select: { id: true },
      take: 500,
    });
    for (const p of expired)
      await this.d.timeoutsQueue.add(
        "close-expired",
        { paymentId: p.id },
        { jobId: `close-sweep-${p.id}-${Math.floor(Date.now() / 60_000)}` },
      );
    return { notify: unnotified.length, close: expired.length };
  }
}
