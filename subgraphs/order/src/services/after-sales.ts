/**
 * After-sales and refunds: the buyer's request of some lines and quantities (or everything left),
 * the operator's decision (approval asks payment to refund; when it covers every unit left the order
 * moves to REFUNDING), and payment's booking of each refund.
 *
 * Amounts are exact shares of what each line cost (OrderItem.payable, the line's part of the order's
 * payable, decision 0011): refunding n units of a line of quantity Q that already has S under
 * after-sales for k units is ⌊payable × (k + n) / Q⌋ − S (at least 0), in minor units — so every unit of
 * a line refunded in any number of requests returns exactly the line's payable, and all lines the
 * order's payable: two partial refunds never exceed what was paid.
 */
import { randomUUID } from "node:crypto";
import { badInput, defined } from "@mallgraph/platform/errors";
import { Decimal, currencyDecimals, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { OrderCode, message, type AfterSaleCode } from "../errors.ts";
import { FollowUpJob, type OrderFollowUps } from "./follow-ups.ts";
import { afterSaleDecidedMessage } from "./messages.ts";
import { afterSaleAllowed, type OrderStatus } from "./orderStateMachine.ts";
import type { OrderReads } from "./read.ts";
import type { OrderServiceDeps } from "./shared.ts";
import { lockOrder, moveInTx } from "./transitions.ts";
import type { AfterSaleOutcome, TransitionOutcome } from "./types.ts";

export interface AfterSaleLineInput {
  skuId: string;
  quantity: number;
}

/** What `n` more units of a line refund: the cumulative share of its payable minus what is already under after-sales. */
export function lineShare(
  item: { payable: Decimal.Value; quantity: number; afterSaleQuantity: number; afterSaleAmount: Decimal.Value },
  n: number,
  currency: string,
): Decimal {
  const digits = currencyDecimals(currency);
  const cumulative = new Decimal(item.payable)
    .times(item.afterSaleQuantity + n)
    .dividedBy(item.quantity)
    .toDecimalPlaces(digits, Decimal.ROUND_DOWN);
  return Decimal.max(0, cumulative.minus(item.afterSaleAmount));
}

export class AfterSales {
  constructor(
    private readonly d: OrderServiceDeps,
    private readonly reads: OrderReads,
    private readonly jobs: OrderFollowUps,
  ) {}

  async requestAfterSale(
    orderId: string,
    buyerId: string,
    type: "RETURN" | "REFUND",
    reason: string,
    lines?: AfterSaleLineInput[] | null,
  ): Promise<AfterSaleOutcome> {
    reason = reason?.trim();
    if (!reason || reason.length > 500) throw badInput("reason is required (at most 500 characters)", { field: "reason" });
    if (lines && lines.length > 100) throw badInput("at most 100 lines", { field: "lines" });
    const o = await this.reads.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", afterSale: null };
    const refuse = (code: AfterSaleCode, extra = ""): AfterSaleOutcome => ({ code, message: `${message(code)}${extra}`, afterSale: null });
    // A lottery prize cost nothing: there is nothing to refund.
    if (o.kind === "PRIZE") return refuse(OrderCode.INVALID_STATE, ": a lottery prize has nothing to refund");
    return this.d.prisma.$transaction(async (tx) => {
      const locked = await lockOrder(tx, orderId);
      if (!afterSaleAllowed(locked.status as OrderStatus)) return refuse(OrderCode.INVALID_STATE);
      const open = await tx.afterSale.findFirst({ where: { orderId, status: { in: ["REQUESTED", "APPROVED"] } } });
      if (open) return { code: OrderCode.ALREADY_REQUESTED, message: message(OrderCode.ALREADY_REQUESTED), afterSale: open };
      const items = await tx.orderItem.findMany({ where: { orderId }, orderBy: { skuId: "asc" } });
      // the lines asked for (repeated SKUs merged), or every unit not yet under an after-sale
      const wanted = new Map<string, number>();
      for (const l of lines ?? items.map((i) => ({ skuId: i.skuId, quantity: i.quantity - i.afterSaleQuantity })))
        wanted.set(l.skuId, (wanted.get(l.skuId) ?? 0) + l.quantity);
      const picked: Array<{ item: (typeof items)[number]; quantity: number; amount: Decimal }> = [];
      for (const [skuId, quantity] of wanted) {
        const item = items.find((i) => i.skuId === skuId);
        if (!item) return refuse(OrderCode.NOT_FOUND, `: ${skuId} is not in the order`);
        if (!Number.isInteger(quantity) || quantity < 0 || quantity > item.quantity - item.afterSaleQuantity)
          return refuse(OrderCode.BAD_QUANTITY, `: at most ${item.quantity - item.afterSaleQuantity} of ${skuId}`);
        if (quantity > 0)
          picked.push({
            item,
            quantity,
            amount: lineShare(
              { ...item, payable: item.payable.toString(), afterSaleAmount: item.afterSaleAmount.toString() },
              quantity,
              locked.currency,
            ),
          });
      }
      if (!picked.length) return refuse(OrderCode.NOTHING_TO_REFUND);
      // never more than is still refundable (an operator may have refunded part of the payment directly)
      const refundable = new Decimal(locked.payable.toString()).minus(locked.refundedAmount.toString());
      const amount = Decimal.min(
        picked.reduce((sum, p) => sum.plus(p.amount), new Decimal(0)),
        refundable,
      );
      const id = randomUUID();
      await tx.afterSale.create({
        data: {
          id,
          orderId,
          buyerId,
          type,
          reason,
          amount: amount.toFixed(),
          lines: { create: picked.map((p) => ({ orderItemId: p.item.id, quantity: p.quantity, amount: p.amount.toFixed() })) },
        },
      });
      for (const p of picked)
        await tx.orderItem.update({
          where: { id: p.item.id },
          data: { afterSaleQuantity: { increment: p.quantity }, afterSaleAmount: { increment: p.amount.toFixed() } },
        });
      return { code: OrderCode.OK, message: null, afterSale: await tx.afterSale.findUniqueOrThrow({ where: { id } }) };
    });
  }

  /** Operator decision. Approving moves the order to REFUNDING and asks payment to refund. */
  async reviewAfterSale(id: string, approve: boolean, note: string | null | undefined, actor: string) {
    if ((note?.length ?? 0) > 500) throw badInput("note is at most 500 characters", { field: "note" });
    const events: string[] = [];
    const res = await this.d.prisma
      .$transaction(async (tx) => {
        const a = await tx.afterSale.findUnique({ where: { id } });
        if (!a) return { code: OrderCode.NOT_FOUND, message: "no such after-sales request", afterSale: null };
        const order = await lockOrder(tx, a.orderId);
        const changed = await tx.afterSale.updateMany({
          where: { id, status: "REQUESTED" },
          data: { status: approve ? "APPROVED" : "REJECTED", decisionNote: note ?? null, decidedBy: actor },
        });
        if (changed.count !== 1) return { code: OrderCode.INVALID_STATE, message: "the request was already decided", afterSale: a };
        await afterSaleDecidedMessage(tx, a, approve, note ?? null);
        if (!approve) {
          // the units of a rejected request may be asked for again
          for (const l of await tx.afterSaleLine.findMany({ where: { afterSaleId: id } }))
            await tx.orderItem.update({
              where: { id: l.orderItemId },
              data: { afterSaleQuantity: { decrement: l.quantity }, afterSaleAmount: { decrement: l.amount.toString() } },
            });
        }
        // the order moves to REFUNDING only when every unit of it is under after-sales (partial ones leave it as it is)
        const left = await tx.orderItem.count({ where: { orderId: a.orderId, afterSaleQuantity: { lt: tx.orderItem.fields.quantity } } });
        if (approve && left === 0) {
          const ev = await moveInTx(tx, order, "startRefund", { reason: `AFTER_SALE:${a.type}`, actor });
          if (!ev) throw new AbortTx({ code: OrderCode.INVALID_STATE, message: message(OrderCode.INVALID_STATE), afterSale: a });
          events.push(ev);
        }
        return { code: OrderCode.OK, message: null, afterSale: await tx.afterSale.findUniqueOrThrow({ where: { id } }) };
      })
      .catch((e) => {
        if (e instanceof AbortTx) return e.result as AfterSaleOutcome;
        throw e;
      });
    if (events.length) await this.d.jobs.flush();
    if (res.code === OrderCode.OK && approve) {
      const a = defined(res.afterSale, "the approved after-sale");
      const order = defined(await this.reads.get(a.orderId), `order ${a.orderId}`);
      const amount = formatAmount(a.amount, order.currency);
      await this.jobs.followUp(FollowUpJob.requestRefund, { orderId: a.orderId, amount, reason: a.reason, reference: a.id }, async () => {
        const code = await this.d.payment.refundOrderPayment(a.orderId, amount, a.reason, a.id);
        if (code !== "OK") this.d.log.warn({ orderId: a.orderId, afterSaleId: a.id, code }, "payment refused the refund");
      });
    }
    return res;
  }

  /** Payment booked a refund (internal, idempotent per refundId). */
  async markRefunded(orderId: string, refundId: string, amountText: string, reference?: string | null): Promise<TransitionOutcome> {
    if (!refundId?.trim()) throw badInput("refundId is required", { field: "refundId" });
    const o = await this.reads.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, status: null };
    const amount = parseAmount(amountText, o.currency, { field: "amount" });
    const events: string[] = [];
    const res = await this.d.prisma.$transaction(async (tx): Promise<TransitionOutcome> => {
      let order = await lockOrder(tx, orderId);
      if (await tx.orderRefund.findUnique({ where: { refundId } })) return { code: OrderCode.OK, status: order.status };
      if (!["PAID", "SHIPPED", "REFUNDING", "COMPLETED"].includes(order.status))
        return { code: OrderCode.INVALID_STATE, status: order.status };
      const refunded = new Decimal(order.refundedAmount.toString()).plus(amount);
      const payable = new Decimal(order.payable.toString());
      if (refunded.greaterThan(payable)) return { code: OrderCode.INVALID_AMOUNT, status: order.status };
      await tx.orderRefund.create({ data: { refundId, orderId, amount: amount.toFixed() } });
      await tx.order.update({ where: { id: orderId }, data: { refundedAmount: refunded.toFixed() } });
      // payment's refund of an after-sale (reference "order:<afterSaleId>") completes it
      const afterSaleId = reference?.startsWith("order:") ? reference.slice("order:".length) : null;
      if (afterSaleId)
        await tx.afterSale.updateMany({ where: { id: afterSaleId, orderId, status: "APPROVED" }, data: { status: "COMPLETED" } });
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
    if (events.length) await this.d.jobs.flush();
    return res;
  }
}

class AbortTx extends Error {
  constructor(public readonly result: unknown) {
    super("transaction aborted");
  }
}
