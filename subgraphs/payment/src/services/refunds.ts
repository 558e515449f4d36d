/**
 * Refunds of a paid payment through its channel: the sum of refunds never exceeds the paid amount
 * (conditional update under the row lock), idempotent per `reference`; a refund still processing
 * is polled; a confirmed one debits the merchant ledger and is booked by the order.
 */
import { auditNote } from "@mallgraph/platform/audit";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput, notFound, defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { ChannelError, PaymentCode, type RefundCode } from "../errors.ts";
import type { Payment, Refund } from "../generated/prisma/client.ts";
import { debitMerchant } from "./ledger.ts";
import type { PaymentReads } from "./read.ts";
import { afterCommit, PAID_STATES, paymentJobs, toRecord, topUpRefundRef, type PaymentDeps } from "./shared.ts";

export class PaymentRefunds {
  constructor(
    private readonly d: PaymentDeps,
    private readonly reads: PaymentReads,
  ) {}

  /**
   * Refunds `amount` of a paid payment through its channel. The sum of refunds never exceeds the
   * paid amount (conditional update under the row lock); idempotent per `reference`. Each refund is
   * booked by the order (orderMarkRefunded; the last one makes it REFUNDED) unless `notifyOrder` is
   * false (automatic refunds of duplicate or late payments, which the order never took).
   */
  async refund(
    paymentId: string,
    amountText: string,
    reason: string,
    reference: string,
    opts: { notifyOrder?: boolean } = {},
  ): Promise<{ code: RefundCode; message?: string; refund: Refund | null; payment: Payment | null }> {
    const p = await this.reads.get(paymentId);
    if (!p) throw notFound("payment", paymentId);
    // A top-up's money sits in the wallet: only refundTopUp (which takes it out of the wallet first) or an automatic refund of a top-up never credited gives it back.
    if (p.purpose === "WALLET_TOP_UP" && reference !== topUpRefundRef(p) && !reference.startsWith("auto:"))
      return { code: PaymentCode.NOT_REFUNDABLE, message: "a wallet top-up is refunded by refundWalletTopUp", refund: null, payment: p };
    const amount = parseAmount(amountText, p.currency);
    if (!reason.trim()) throw badInput("reason is required", { field: "reason" });
    const existing = await this.d.prisma.refund.findUnique({ where: { reference } });
    if (existing) return { code: PaymentCode.OK, refund: existing, payment: await this.reads.get(paymentId) };

    let refund: Refund | null;
    try {
      refund = await this.d.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ id: string; refundedAmount: string }>>`
          UPDATE "Payment" SET "refundedAmount" = "refundedAmount" + ${amount.toString()}::numeric, "updatedAt" = now()
          WHERE id = ${p.id} AND status = 'SUCCEEDED' AND "refundedAmount" + ${amount.toString()}::numeric <= amount
          RETURNING id, "refundedAmount"::text AS "refundedAmount"`;
        if (!rows.length) return null;
        // an operator's refund: the raw update's before/after for the audit trail (no-op otherwise)
        const now = new Decimal(defined(rows[0], `payment ${p.id}`).refundedAmount);
        auditNote({
          entity: "Payment",
          id: p.id,
          op: "update",
          before: { refundedAmount: formatAmount(now.minus(amount), p.currency) },
          after: { refundedAmount: formatAmount(now, p.currency) },
        });
        return tx.refund.create({
          data: { paymentId: p.id, amount: amount.toString(), currency: p.currency, reason: reason.slice(0, 200), reference },
        });
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.refund.findUnique({ where: { reference } });
      return { code: PaymentCode.OK, refund: again, payment: await this.reads.get(paymentId) };
    }
    if (!refund) {
      const cur = defined(await this.reads.get(paymentId), `payment ${paymentId}`);
      if (cur.status !== "SUCCEEDED")
        return { code: PaymentCode.NOT_REFUNDABLE, message: `payment is ${cur.status}`, refund: null, payment: cur };
      const left = new Decimal(cur.amount.toString()).minus(cur.refundedAmount.toString());
      return {
        code: PaymentCode.EXCEEDS_REFUNDABLE,
        message: `at most ${formatAmount(left, cur.currency)} can be refunded`,
        refund: null,
        payment: cur,
      };
    }

    const cfg = await this.d.merchants.channelConfig(p.appId, p.channel);
    let outcome;
    try {
      if (!cfg) throw new ChannelError(`${p.channel} is not configured for the app`);
      outcome = await this.d.adapters[p.channel].refund(
        toRecord(p),
        { id: refund.id, amount: formatAmount(amount, p.currency), reason },
        cfg,
      );
    } catch (e) {
      outcome = { status: "FAILED" as const, message: (e as Error).message };
    }
    if (outcome.status === "FAILED") {
      await this.failRefund(refund.id, outcome.message);
      return {
        code: PaymentCode.CHANNEL_ERROR,
        message: outcome.message,
        refund: await this.d.prisma.refund.findUnique({ where: { id: refund.id } }),
        payment: await this.reads.get(p.id),
      };
    }
    if (outcome.status === "PENDING") {
      // The provider is still processing (WeChat Pay PROCESSING): poll it until it settles.
      await this.d.prisma.refund.update({ where: { id: refund.id }, data: { providerRefundNo: outcome.providerRefundNo ?? null } });
      await this.d.timeoutsQueue.add(
        "query-refund",
        { refundId: refund.id },
        { jobId: `query-refund-${refund.id}`, delay: 5000, attempts: 20, backoff: { type: "exponential", delay: 5000 } },
      );
      return {
        code: PaymentCode.OK,
        refund: await this.d.prisma.refund.findUnique({ where: { id: refund.id } }),
        payment: await this.reads.get(p.id),
      };
    }
    return this.completeRefund(refund.id, outcome.providerRefundNo, opts.notifyOrder !== false);
  }

  /**
   * A top-up refunded to its payment while the wallet still holds it: the amount is frozen in the
   * wallet first (TOP_UP_SPENT when it is no longer there), then refunded through the channel; the
   * freeze leaves the platform when the channel confirms (notify-refunded) and is released when it
   * refuses.
   */
  async refundTopUp(buyerId: string, paymentId: string) {
    const p = await this.reads.getForBuyer(paymentId, buyerId);
    if (!p || p.purpose !== "WALLET_TOP_UP") throw notFound("top-up payment", paymentId);
    if (p.status !== "SUCCEEDED" || !p.orderNotifiedAt)
      return {
        code: PaymentCode.NOT_REFUNDABLE,
        message: `the top-up is ${p.status === "SUCCEEDED" ? "not credited yet" : p.status}`,
        refund: null,
        payment: p,
      };
    const amount = formatAmount(p.amount, p.currency);
    const frozen = await this.d.ports.wallet.op("walletFreeze", p.buyerId, p.currency, amount, topUpRefundRef(p));
    if (frozen.code === "INSUFFICIENT_BALANCE")
      return { code: PaymentCode.TOP_UP_SPENT, message: "the wallet no longer holds the top-up", refund: null, payment: p };
    if (frozen.code !== "OK") throw new ChannelError(`walletFreeze answered ${frozen.code}`);
    const r = await this.refund(p.id, amount, "wallet top-up refunded", topUpRefundRef(p));
    if (r.refund?.status === "FAILED") await this.releaseTopUpRefund(p);
    return r;
  }

  private async releaseTopUpRefund(p: Payment): Promise<void> {
    const r = await this.d.ports.wallet.op("walletUnfreeze", p.buyerId, p.currency, formatAmount(p.amount, p.currency), topUpRefundRef(p));
    if (r.code !== "OK" && r.code !== "ALREADY_SETTLED") throw new Error(`walletUnfreeze answered ${r.code}`);
  }

  /** A refund the channel refused: the amount becomes refundable again (a top-up's freeze is released). */
  private async failRefund(refundId: string, message: string | undefined): Promise<void> {
    const failed = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.refund.updateMany({
        where: { id: refundId, status: "PENDING" },
        data: { status: "FAILED", failure: message?.slice(0, 500) ?? null, completedAt: new Date() },
      });
      if (r.count === 0) return null;
      const refund = await tx.refund.findUniqueOrThrow({ where: { id: refundId }, include: { payment: true } });
      // "updatedAt" as the refund's own UPDATE above sets it (Prisma's @updatedAt is client-side: raw SQL must)
      await tx.$executeRaw`UPDATE "Payment" SET "refundedAmount" = "refundedAmount" - ${refund.amount.toString()}::numeric, "updatedAt" = now() WHERE id = ${refund.paymentId}`;
      return refund;
    });
    if (failed?.payment.purpose === "WALLET_TOP_UP" && failed.reference === topUpRefundRef(failed.payment))
      await this.releaseTopUpRefund(failed.payment);
  }

  /** Job `query-refund`: asks the channel about a refund still processing; throws (retry) while it is. */
  async pollRefund(refundId: string): Promise<string> {
    const r = await this.d.prisma.refund.findUnique({ where: { id: refundId }, include: { payment: true } });
    if (!r || r.status !== "PENDING") return "done";
    const adapter = this.d.adapters[r.payment.channel];
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
    const { refund } = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.refund.updateMany({
        where: { id: refundId, status: "PENDING" },
        data: { status: "SUCCEEDED", providerRefundNo: providerRefundNo ?? null, completedAt: new Date() },
      });
      const refund = await tx.refund.findUniqueOrThrow({ where: { id: refundId } });
      if (r.count === 0) return { refund, full: false };
      const p = await tx.payment.findUniqueOrThrow({ where: { id: refund.paymentId } });
      await debitMerchant(tx, p, refund);
      const succeeded = await tx.refund.aggregate({ where: { paymentId: p.id, status: "SUCCEEDED" }, _sum: { amount: true } });
      const full = new Decimal((succeeded._sum.amount ?? 0).toString()).eq(p.amount.toString());
      // The live event of a full refund; the order books every refund of its payment (idempotent per
      // refund id; the full one moves it to REFUNDED): both outbox jobs of this transaction.
      const jobs = [];
      if (full) {
        await tx.payment.updateMany({ where: { id: p.id, status: "SUCCEEDED" }, data: { status: "REFUNDED" } });
        jobs.push(
          paymentJobs.event(
            (await tx.paymentEvent.create({ data: { paymentId: p.id, type: "REFUNDED", status: "REFUNDED", buyerId: p.buyerId } })).id,
          ),
        );
      }
      if (notifyOrder) jobs.push(paymentJobs.refunded(refund.id));
      await writeOutbox(tx, jobs);
      return { refund, full };
    });
    await afterCommit(this.d, "REFUNDED");
    const payment = defined(await this.reads.get(refund.paymentId), `payment ${refund.paymentId}`);
    return { code: PaymentCode.OK, refund, payment };
  }

  /** Job `notify-refunded`: the order books the refund (its amount); the one completing the payment refunds the order. */
  async notifyOrderRefunded(refundId: string): Promise<string> {
    const r = await this.d.prisma.refund.findUnique({ where: { id: refundId }, include: { payment: true } });
    if (!r || r.status !== "SUCCEEDED") return "done";
    if (r.payment.purpose === "WALLET_TOP_UP") {
      // The refunded top-up's freeze leaves the wallet (once per reference).
      if (r.reference !== topUpRefundRef(r.payment)) return "done";
      const out = await this.d.ports.wallet.op(
        "walletPayOut",
        r.payment.buyerId,
        r.currency,
        formatAmount(r.amount, r.currency),
        r.reference,
      );
      if (out.code !== "OK") throw new Error(`walletPayOut answered ${out.code}`);
      return "paid-out";
    }
    const res = await this.d.ports.order.orderMarkRefunded(
      defined(r.payment.orderId, `the order of payment ${r.payment.id}`),
      r.id,
      formatAmount(r.amount, r.currency),
      r.reference,
    );
    if (res.code !== "OK" && res.code !== "INVALID_STATE") throw new Error(`orderMarkRefunded answered ${res.code}`);
    return res.code;
  }

  /** Internal (order after-sales): refund the order's paid payment. */
  async refundOrder(orderId: string, amount: string, reason: string, reference: string) {
    const p = await this.d.prisma.payment.findFirst({ where: { orderId, status: { in: [...PAID_STATES] } }, orderBy: { paidAt: "asc" } });
    if (!p) return { code: PaymentCode.NOT_REFUNDABLE, message: "the order has no paid payment", refund: null, payment: null };
    return this.refund(p.id, amount, reason, `order:${reference}`);
  }
}
