/**
 * The PRIZE order of one lottery draw (internal; lottery's award delivery): the prize SKU at price
 * 0, created PAID (nothing to pay) and shipped by operators like any order. The prize stock is the
 * lottery award's own (decision 0021): no catalog reservation is made — `reservationKey`
 * `prize:<drawId>` is unknown to catalog, so the confirm / release calls are no-ops there.
 * Ships to the named address, else to the member's default one (NO_ADDRESS when there is none).
 * Idempotent per drawId (idempotencyKey `prize:<drawId>`, unique per buyer): a repeated or
 * concurrent call answers OK with the same order.
 */
import { randomUUID } from "node:crypto";
import { badInput } from "@mallgraph/platform/errors";
import { formatAmount } from "@mallgraph/platform/money";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { OrderCode } from "../errors.ts";
import { orderStatusEvent } from "./outbox.ts";
import { insertOrder, type OrderServiceDeps } from "./shared.ts";
import type { PrizeOrderInput, SeckillOrderOutcome } from "./types.ts";

/** The currency of a prize order whose SKU catalog no longer knows. */
const DEFAULT_CURRENCY = "CNY";

export class PrizeOrders {
  constructor(private readonly d: OrderServiceDeps) {}

  async createPrize(input: PrizeOrderInput): Promise<SeckillOrderOutcome> {
    const { drawId, buyerId, skuId } = input;
    for (const [f, v] of [
      ["drawId", drawId],
      ["buyerId", buyerId],
      ["skuId", skuId],
    ] as const)
      if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    const key = `prize:${drawId}`;
    const existing = await this.byDraw(buyerId, key);
    if (existing) return { code: OrderCode.OK, orderId: existing.id, status: existing.status };
    const a = input.addressId ? await this.d.member.address(buyerId, input.addressId) : await this.d.member.defaultAddress(buyerId);
    if (!a) return { code: input.addressId ? OrderCode.ADDRESS_NOT_FOUND : OrderCode.NO_ADDRESS, orderId: null, status: null };
    const [snap] = await this.d.catalog.skuSnapshots([skuId]);
    if (!snap) return { code: OrderCode.NOT_FOUND, orderId: null, status: null };
    const currency = snap.currency || DEFAULT_CURRENCY;
    const zero = formatAmount(0, currency);
    const orderId = randomUUID();
    const eventId = randomUUID();
    const now = new Date();
    const dup = await insertOrder(
      this.d,
      async (tx, orderNo) => {
        await tx.order.create({
          data: {
            id: orderId,
            orderNo,
            buyerId,
            kind: "PRIZE",
            status: "PAID",
            currency,
            itemsTotal: zero,
            discount: zero,
            payable: zero,
            address: { id: a.id, receiver: a.receiver, phone: a.phone, region: a.region, detail: a.detail },
            addressId: a.id,
            idempotencyKey: key,
            reservationKey: key,
            paymentChannel: "PRIZE",
            paidAt: now,
            expiresAt: now,
            items: {
              create: [
                {
                  id: randomUUID(),
                  skuId,
                  spuId: snap.spuId ?? null,
                  title: snap.title,
                  image: snap.image ?? null,
                  price: zero,
                  quantity: 1,
                  subtotal: zero,
                  payable: zero,
                },
              ],
            },
          },
        });
        await tx.orderStatusChange.create({ data: { id: eventId, orderId, from: null, to: "PAID", reason: "PRIZE", actor: "lottery" } });
        await writeOutbox(tx, [orderStatusEvent(eventId, orderId, buyerId)]);
      },
      () => this.byDraw(buyerId, key),
    );
    if (dup) return { code: OrderCode.OK, orderId: dup.id, status: dup.status };
    await this.d.jobs.flush();
    return { code: OrderCode.OK, orderId, status: "PAID" };
  }

  private byDraw(buyerId: string, idempotencyKey: string) {
    return this.d.prisma.order.findUnique({
      where: { buyerId_idempotencyKey: { buyerId, idempotencyKey } },
      select: { id: true, status: true },
    });
  }
}
