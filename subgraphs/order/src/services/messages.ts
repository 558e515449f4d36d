/**
 * The member messages an order change causes (order paid, shipped, after-sale decided): written
 * into the order schema's outbox in the change's transaction, relayed to member's inbox worker.
 */
import { formatAmount } from "@mallgraph/platform/money";
import { writeOutbox, memberMessage } from "@mallgraph/platform/outbox";
import type { Tx } from "./shared.ts";

async function orderFacts(tx: Tx, orderId: string) {
  const o = await tx.order.findUniqueOrThrow({
    where: { id: orderId },
    select: { buyerId: true, orderNo: true, payable: true, currency: true },
  });
  return { ...o, amount: formatAmount(o.payable, o.currency) };
}

export async function orderPaidMessage(tx: Tx, orderId: string): Promise<void> {
  const o = await orderFacts(tx, orderId);
  await writeOutbox(tx, [
    memberMessage(`order-paid.${orderId}`, o.buyerId, "ORDER_PAID", {
      orderId,
      orderNo: o.orderNo,
      amount: o.amount,
      currency: o.currency,
    }),
  ]);
}

export async function orderShippedMessage(tx: Tx, orderId: string, carrier: string, trackingNo: string): Promise<void> {
  const o = await orderFacts(tx, orderId);
  await writeOutbox(tx, [
    memberMessage(`order-shipped.${orderId}`, o.buyerId, "ORDER_SHIPPED", { orderId, orderNo: o.orderNo, carrier, trackingNo }),
  ]);
}

export async function afterSaleDecidedMessage(
  tx: Tx,
  a: { id: string; orderId: string; amount: { toString(): string } },
  approved: boolean,
  note: string | null,
): Promise<void> {
  const o = await orderFacts(tx, a.orderId);
  await writeOutbox(tx, [
    memberMessage(`after-sale.${a.id}`, o.buyerId, "AFTER_SALE_DECIDED", {
      orderId: a.orderId,
      afterSaleId: a.id,
      orderNo: o.orderNo,
      decision: approved ? "approved" : "rejected",
      amount: formatAmount(a.amount.toString(), o.currency),
      currency: o.currency,
      note: note ?? "",
    }),
  ]);
}
