/**
 * The SECKILL order of one promotion seckill reservation (internal; promotion's order worker).
 * The stock already left catalog when the session was set up, so no catalog reservation is
 * made: `reservationKey` is `seckill:<reservationId>`, unknown to catalog, so the release on
 * cancel and the confirm on payment are no-ops there (promotion returns a cancelled order's
 * stock to its session). Idempotent per reservationId (unique column): a repeated or
 * concurrent call answers OK with the same order.
 *
 * `createSeckillBatch` makes the orders of many reservations in ONE transaction (promotion's order
 * worker sends what its jobs collected): existing orders are answered as they are, the new ones are
 * inserted together (`ON CONFLICT DO NOTHING`, so a concurrent call for the same reservation makes no
 * second order), and whatever did not get in that way goes through `createSeckill` one by one. The
 * transaction is all or nothing: a crash midway leaves no order, and the retry makes each once.
 */
import { randomUUID } from "node:crypto";
import { badInput } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { OrderCode } from "../errors.ts";
import type { OrderFollowUps } from "./follow-ups.ts";
import { orderStatusEvent } from "./outbox.ts";
import { insertOrder, MAX_LINE_QUANTITY, type OrderServiceDeps } from "./shared.ts";
import type { SeckillOrderInput, SeckillOrderOutcome } from "./types.ts";

/** Most reservations one createSeckillBatch call may carry. */
export const MAX_SECKILL_BATCH = 200;

export class SeckillOrders {
  constructor(
    private readonly d: OrderServiceDeps,
    private readonly jobs: OrderFollowUps,
  ) {}

  async createSeckill(input: SeckillOrderInput): Promise<SeckillOrderOutcome> {
    const { reservationId, buyerId, skuId, quantity, currency } = input;
    checkIds(input);
    const existing = await this.bySeckillReservation(reservationId);
    if (existing) return seckillOk(existing);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY)
      return { code: OrderCode.BAD_QUANTITY, orderId: null, status: null };
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
            id: orderId,
            orderNo,
            buyerId,
            kind: "SECKILL",
            status: "PENDING_PAYMENT",
            currency,
            itemsTotal: total,
            discount: formatAmount(0, currency),
            payable: total,
            address,
            addressId: input.addressId ?? "",
            idempotencyKey: `seckill:${reservationId}`,
            seckillReservationId: reservationId,
            reservationKey: `seckill:${reservationId}`,
            expiresAt,
            items: {
              create: [
                {
                  id: randomUUID(),
                  skuId,
                  spuId: snap?.spuId ?? null,
                  title: snap?.title ?? `SKU ${skuId}`,
                  image: snap?.image ?? null,
                  price: formatAmount(price, currency),
                  quantity,
                  subtotal: total,
                  payable: total,
                },
              ],
            },
          },
        });
        await tx.orderStatusChange.create({
          data: { id: eventId, orderId, from: null, to: "PENDING_PAYMENT", reason: "SECKILL", actor: buyerId },
        });
        await writeOutbox(tx, [orderStatusEvent(eventId, orderId, buyerId)]);
      },
      () => this.bySeckillReservation(reservationId),
      ["seckillReservationId"],
    );
    if (dup) return seckillOk(dup);
    await this.jobs.scheduleTimeout(orderId, expiresAt);
    await this.d.jobs.flush();
    return { code: OrderCode.OK, orderId, status: "PENDING_PAYMENT" };
  }

  async createSeckillBatch(inputs: SeckillOrderInput[]): Promise<SeckillOrderOutcome[]> {
    if (inputs.length > MAX_SECKILL_BATCH) throw badInput(`at most ${MAX_SECKILL_BATCH} orders per call`, { field: "orders" });
    for (const i of inputs) {
      checkIds(i);
      parseAmount(i.unitPrice, i.currency, { field: "unitPrice", allowZero: true }); // bad input refuses the whole call before anything is written
    }
    const rids = [...new Set(inputs.map((i) => i.reservationId))];
    const found = new Map<string, SeckillOrderOutcome>();
    for (const o of await this.d.prisma.order.findMany({
      where: { seckillReservationId: { in: rids } },
      select: { id: true, status: true, seckillReservationId: true },
    })) {
      if (o.seckillReservationId) found.set(o.seckillReservationId, seckillOk(o));
    }
    // new, well-formed, one per reservation; the rest (address to look up, bad quantity) one by one
    const fresh = new Map<string, SeckillOrderInput>();
    for (const i of inputs)
      if (!found.has(i.reservationId) && !i.addressId && Number.isInteger(i.quantity) && i.quantity >= 1 && i.quantity <= MAX_LINE_QUANTITY)
        fresh.set(i.reservationId, i);
    // the same (sorted) order in every batch: overlapping batches wait on each other instead of deadlocking
    const batch = [...fresh.values()].sort((a, b) => (a.reservationId < b.reservationId ? -1 : 1));
    let inserted: Awaited<ReturnType<SeckillOrders["insertSeckillOrders"]>> = [];
    for (let attempt = 0; batch.length; attempt++) {
      try {
        inserted = await this.insertSeckillOrders(batch);
        break;
      } catch (e) {
        if (attempt >= 2 || !isDeadlock(e)) throw e;
      }
    }
    for (const o of inserted) found.set(o.reservationId, { code: OrderCode.OK, orderId: o.orderId, status: "PENDING_PAYMENT" });
    const out: SeckillOrderOutcome[] = [];
    for (const i of inputs) {
      let r = found.get(i.reservationId);
      if (!r) found.set(i.reservationId, (r = await this.createSeckill(i)));
      out.push(r);
    }
    await Promise.all(inserted.map((o) => this.jobs.scheduleTimeout(o.orderId, o.expiresAt)));
    if (inserted.length) await this.d.jobs.flush();
    return out;
  }

  /** One transaction: the orders that got in (a reservation ordered meanwhile, or an orderNo taken, is skipped). */
  private async insertSeckillOrders(
    inputs: SeckillOrderInput[],
  ): Promise<Array<{ reservationId: string; orderId: string; eventId: string; expiresAt: Date }>> {
    const snaps = new Map(
      (await this.d.catalog.skuSnapshots([...new Set(inputs.map((i) => i.skuId))])).flatMap((s) => (s ? [[s.id, s] as const] : [])),
    );
    const timeout = this.d.seckillPaymentTimeoutSeconds ?? this.d.paymentTimeoutSeconds;
    const expiresAt = new Date(Date.now() + timeout * 1000);
    const rows = await Promise.all(
      inputs.map(async (i) => {
        const price = parseAmount(i.unitPrice, i.currency, { field: "unitPrice", allowZero: true });
        return {
          i,
          orderId: randomUUID(),
          eventId: randomUUID(),
          orderNo: await this.d.nextOrderNo(),
          price: formatAmount(price, i.currency),
          total: formatAmount(price.times(i.quantity), i.currency),
        };
      }),
    );
    return this.d.prisma.$transaction(async (tx) => {
      await tx.order.createMany({
        skipDuplicates: true,
        data: rows.map(({ i, orderId, orderNo, total }) => ({
          id: orderId,
          orderNo,
          buyerId: i.buyerId,
          kind: "SECKILL" as const,
          status: "PENDING_PAYMENT" as const,
          currency: i.currency,
          itemsTotal: total,
          discount: formatAmount(0, i.currency),
          payable: total,
          address: {},
          addressId: "",
          idempotencyKey: `seckill:${i.reservationId}`,
          seckillReservationId: i.reservationId,
          reservationKey: `seckill:${i.reservationId}`,
          expiresAt,
        })),
      });
      const got = new Set(
        (await tx.order.findMany({ where: { id: { in: rows.map((r) => r.orderId) } }, select: { id: true } })).map((o) => o.id),
      );
      const mine = rows.filter((r) => got.has(r.orderId));
      await tx.orderItem.createMany({
        data: mine.map(({ i, orderId, price, total }) => {
          const snap = snaps.get(i.skuId);
          return {
            id: randomUUID(),
            orderId,
            skuId: i.skuId,
            spuId: snap?.spuId ?? null,
            title: snap?.title ?? `SKU ${i.skuId}`,
            image: snap?.image ?? null,
            price,
            quantity: i.quantity,
            subtotal: total,
            payable: total,
          };
        }),
      });
      await tx.orderStatusChange.createMany({
        data: mine.map(({ i, orderId, eventId }) => ({
          id: eventId,
          orderId,
          from: null,
          to: "PENDING_PAYMENT" as const,
          reason: "SECKILL",
          actor: i.buyerId,
        })),
      });
      await writeOutbox(
        tx,
        mine.map(({ i, orderId, eventId }) => orderStatusEvent(eventId, orderId, i.buyerId)),
      );
      await this.d.hooks?.seckillBatch?.(mine.map((r) => r.i.reservationId));
      return mine.map(({ i, orderId, eventId }) => ({ reservationId: i.reservationId, orderId, eventId, expiresAt }));
    });
  }

  private bySeckillReservation(reservationId: string) {
    return this.d.prisma.order.findUnique({ where: { seckillReservationId: reservationId }, select: { id: true, status: true } });
  }
}

function isDeadlock(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === "P2034" || /deadlock|40P01|could not serialize/i.test(err?.message ?? "");
}

function checkIds(input: SeckillOrderInput): void {
  for (const f of ["reservationId", "buyerId", "skuId"] as const) {
    const v = input[f];
    if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
  }
}

function seckillOk(o: { id: string; status: string }): SeckillOrderOutcome {
  return { code: OrderCode.OK, orderId: o.id, status: o.status };
}
