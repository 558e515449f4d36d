/**
 * The SECKILL order of one promotion seckill reservation (internal; promotion's order worker).
 * The stock already left catalog when the session was set up, so no catalog reservation is
 * made: `reservationKey` is `seckill:<reservationId>`, unknown to catalog, so the release on
 * cancel and the confirm on payment are no-ops there (promotion returns a cancelled order's
 * stock to its session). Idempotent per reservationId (unique column): a repeated or
 * concurrent call answers OK with the same order.
 */
import { randomUUID } from "node:crypto";
import { badInput } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { OrderCode } from "../errors.ts";
import type { OrderFollowUps } from "./follow-ups.ts";
import { ORDER_STATUS_TOPIC } from "./outbox.ts";
import { insertOrder, MAX_LINE_QUANTITY, type OrderServiceDeps } from "./shared.ts";
import type { SeckillOrderInput, SeckillOrderOutcome } from "./types.ts";

export class SeckillOrders {
  constructor(
    private readonly d: OrderServiceDeps,
    private readonly jobs: OrderFollowUps,
  ) {}

  async createSeckill(input: SeckillOrderInput): Promise<SeckillOrderOutcome> {
    const { reservationId, buyerId, skuId, quantity, currency } = input;
    for (const [f, v] of [["reservationId", reservationId], ["buyerId", buyerId], ["skuId", skuId]] as const)
      if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    const existing = await this.bySeckillReservation(reservationId);
    if (existing) return seckillOk(existing);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) return { code: OrderCode.BAD_QUANTITY, orderId: null, status: null };
    const price = parseAmount(input.unitPrice, currency, { field: "unitPrice", allowZero: true });
    let address: Record<string, string> = {};
    if (input.addressId) {
      const a = await this.d.member.address(buyerId, input.addressId);
      if (!a) return { code: OrderCode.ADDRESS_NOT_FOUND, orderId: null, status: null };
      address = { id: a.id, receiver: a.receiver, phone: a.phone, region: a.region, detail: a.detail };
    }
    const [snap] = await this.d.catalog.skuSnapshots([skuId]);
    const orderId = randomUUID();
    const eventId = randomUUID();
    const total = formatAmount(price.times(quantity), currency);
    const timeout = this.d.seckillPaymentTimeoutSeconds ?? this.d.paymentTimeoutSeconds;
    const expiresAt = new Date(Date.now() + timeout * 1000);
    const dup = await insertOrder(
      this.d,
      async (tx, orderNo) => {
        await tx.order.create({
          data: {
            id: orderId, orderNo, buyerId, kind: "SECKILL", status: "PENDING_PAYMENT", currency,
            itemsTotal: total, discount: formatAmount(0, currency), payable: total,
            address, addressId: input.addressId ?? "",
            idempotencyKey: `seckill:${reservationId}`, seckillReservationId: reservationId,
            reservationKey: `seckill:${reservationId}`, expiresAt,
            items: { create: [{ id: randomUUID(), skuId, spuId: snap?.spuId ?? null, title: snap?.title ?? `SKU ${skuId}`, image: snap?.image ?? null, price: formatAmount(price, currency), quantity, subtotal: total, payable: total }] },
          },
        });
        await tx.orderStatusChange.create({ data: { id: eventId, orderId, from: null, to: "PENDING_PAYMENT", reason: "SECKILL", actor: buyerId } });
        await tx.orderOutbox.create({ data: { id: eventId, orderId, buyerId, topic: ORDER_STATUS_TOPIC, payload: { status: "PENDING_PAYMENT", previousStatus: null } } });
      },
      () => this.bySeckillReservation(reservationId),
      ["seckillReservationId"],
    );
    if (dup) return seckillOk(dup);
    await this.jobs.scheduleTimeout(orderId, expiresAt);
    await this.d.outbox.publish([eventId]);
    return { code: OrderCode.OK, orderId, status: "PENDING_PAYMENT" };
  }

  private bySeckillReservation(reservationId: string) {
    return this.d.prisma.order.findUnique({ where: { seckillReservationId: reservationId }, select: { id: true, status: true } });
  }
}

function seckillOk(o: { id: string; status: string }): SeckillOrderOutcome {
  return { code: OrderCode.OK, orderId: o.id, status: o.status };
}
