/**
 * After-sales and refunds: the buyer's request, the operator's decision (approval moves the order
 * to REFUNDING and asks payment to refund), and payment's booking of each refund.
 */
import { randomUUID } from "node:crypto";
import { badInput } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { OrderCode, message } from "../errors.ts";
import { FollowUpJob, type OrderFollowUps } from "./follow-ups.ts";
import { afterSaleAllowed, type OrderStatus } from "./orderStateMachine.ts";
import type { OrderReads } from "./read.ts";
import type { OrderServiceDeps } from "./shared.ts";
import { lockOrder, moveInTx } from "./transitions.ts";
import type { TransitionOutcome } from "./types.ts";

export class AfterSales {
  constructor(
    private readonly d: OrderServiceDeps,
    private readonly reads: OrderReads,
    private readonly jobs: OrderFollowUps,
  ) {}

  async requestAfterSale(orderId: string, buyerId: string, type: "RETURN" | "REFUND", reason: string) {
    reason = reason?.trim();
    if (!reason || reason.length > 500) throw badInput("reason is required (at most 500 characters)", { field: "reason" });
    const o = await this.reads.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", afterSale: null };
    return this.d.prisma.$transaction(async (tx) => {
      const locked = await lockOrder(tx, orderId);
      if (!afterSaleAllowed(locked.status as OrderStatus)) return { code: OrderCode.INVALID_STATE, message: message(OrderCode.INVALID_STATE), afterSale: null };
      const open = await tx.afterSale.findFirst({ where: { orderId, status: { in: ["REQUESTED", "APPROVED"] } } });
      if (open) return { code: OrderCode.ALREADY_REQUESTED, message: message(OrderCode.ALREADY_REQUESTED), afterSale: open };
      const amount = new Decimal(locked.payable.toString()).minus(locked.refundedAmount.toString());
      const afterSale = await tx.afterSale.create({ data: { id: randomUUID(), orderId, buyerId, type, reason, amount: amount.toFixed() } });
      return { code: OrderCode.OK, message: null, afterSale };
    });
  }

  /** Operator decision. Approving moves the order to REFUNDING and asks payment to refund. */
  async reviewAfterSale(id: string, approve: boolean, note: string | null | undefined, actor: string) {
    if ((note?.length ?? 0) > 500) throw badInput("note is at most 500 characters", { field: "note" });
    const events: string[] = [];
    const res = await this.d.prisma.$transaction(async (tx) => {
      const a = await tx.afterSale.findUnique({ where: { id } });
      if (!a) return { code: OrderCode.NOT_FOUND, message: "no such after-sales request", afterSale: null };
      const order = await lockOrder(tx, a.orderId);
      const changed = await tx.afterSale.updateMany({ where: { id, status: "REQUESTED" }, data: { status: approve ? "APPROVED" : "REJECTED", decisionNote: note ?? null, decidedBy: actor } });
      if (changed.count !== 1) return { code: OrderCode.INVALID_STATE, message: "the request was already decided", afterSale: a };
      if (approve) {
        const ev = await moveInTx(tx, order, "startRefund", { reason: `AFTER_SALE:${a.type}`, actor });
        if (!ev) throw new AbortTx({ code: OrderCode.INVALID_STATE, message: message(OrderCode.INVALID_STATE), afterSale: a });
        events.push(ev);
      }
      return { code: OrderCode.OK, message: null, afterSale: await tx.afterSale.findUniqueOrThrow({ where: { id } }) };
    }).catch((e) => {
      if (e instanceof AbortTx) return e.result as { code: string; message: string | null; afterSale: any };
      throw e;
    });
    await this.d.outbox.publish(events);
    if (res.code === OrderCode.OK && approve) {
      const a = res.afterSale!;
      const order = (await this.reads.get(a.orderId))!;
      const amount = formatAmount(a.amount, order.currency);
      await this.jobs.followUp(FollowUpJob.requestRefund, { orderId: a.orderId, amount, reason: a.reason, reference: a.id }, async () => {
        const code = await this.d.payment.refundOrderPayment(a.orderId, amount, a.reason, a.id);
        if (code !== "OK") this.d.log.warn({ orderId: a.orderId, afterSaleId: a.id, code }, "payment refused the refund");
      });
    }
    return res;
  }

  /** Payment booked a refund (internal, idempotent per refundId). */
  async markRefunded(orderId: string, refundId: string, amountText: string): Promise<TransitionOutcome> {
    if (!refundId?.trim()) throw badInput("refundId is required", { field: "refundId" });
    const o = await this.reads.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, status: null };
    const amount = parseAmount(amountText, o.currency, { field: "amount" });
    const events: string[] = [];
    const res = await this.d.prisma.$transaction(async (tx): Promise<TransitionOutcome> => {
      let order = await lockOrder(tx, orderId);
      if (await tx.orderRefund.findUnique({ where: { refundId } })) return { code: OrderCode.OK, status: order.status };
      if (!["PAID", "SHIPPED", "REFUNDING", "COMPLETED"].includes(order.status)) return { code: OrderCode.INVALID_STATE, status: order.status };
      const refunded = new Decimal(order.refundedAmount.toString()).plus(amount);
      const payable = new Decimal(order.payable.toString());
      if (refunded.greaterThan(payable)) return { code: OrderCode.INVALID_AMOUNT, status: order.status };
      await tx.orderRefund.create({ data: { refundId, orderId, amount: amount.toFixed() } });
      await tx.order.update({ where: { id: orderId }, data: { refundedAmount: refunded.toFixed() } });
      order = await lockOrder(tx, orderId);
      const full = refunded.equals(payable);
      if (full && (order.status === "PAID" || order.status === "SHIPPED")) {
        const ev = await moveInTx(tx, order, "startRefund", { reason: "REFUNDED_BY_PAYMENT", actor: "payment" });
        if (ev) events.push(ev);
        order = await lockOrder(tx, orderId);
      }
      if (order.status === "REFUNDING") {
        const ev = await moveInTx(tx, order, "finishRefund", { reason: `REFUND:${refundId}`, actor: "payment" });
        if (ev) events.push(ev);
        await tx.afterSale.updateMany({ where: { orderId, status: "APPROVED" }, data: { status: "COMPLETED" } });
        order = await lockOrder(tx, orderId);
      }
      return { code: OrderCode.OK, status: order.status };
    });
    await this.d.outbox.publish(events);
    return res;
  }
}

class AbortTx extends Error {
  constructor(public readonly result: unknown) {
    super("transaction aborted");
  }
}
