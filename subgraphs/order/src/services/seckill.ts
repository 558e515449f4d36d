/**
 * The SECKILL order of one promotion seckill reservation (internal; promotion's order worker).
 * The stock already left catalog when the session was set up, so no catalog reservation is
 * made: `reservationKey` is `seckill:<reservationId>`, unknown to catalog, so the release on
 * cancel and the confirm on payment are no-ops there (promotion returns a cancelled order's
 * stock to its session). Idempotent per reservationId (unique column): a repeated or
 * concurrent call answers OK with the same order.
 *
 * `createSeckillBatch` makes the orders of many reservations in ONE transaction of plain SQL (promotion's
 * stream consumer sends a read's worth; decision 0036): one statement inserts the new ones together
 * (`ON CONFLICT DO NOTHING`, so a concurrent call for the same reservation makes no second order) and
 * answers them with the orders that existed, and whatever got in neither way goes through `createSeckill`
 * one by one. The transaction is all or nothing: a crash midway leaves no order, and the retry makes each once.
 */
import { randomUUID } from "node:crypto";
import { badInput } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { OrderCode } from "../errors.ts";
import { orderStatusEvent, orderStatusEvents } from "./outbox.ts";
import { insertOrder, MAX_LINE_QUANTITY, type OrderServiceDeps } from "./shared.ts";
import type { SeckillOrderInput, SeckillOrderOutcome } from "./types.ts";

/** Most reservations one createSeckillBatch call may carry. */
export const MAX_SECKILL_BATCH = 200;

export class SeckillOrders {
  constructor(private readonly d: OrderServiceDeps) {}

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
    await this.d.jobs.flush();
    return { code: OrderCode.OK, orderId, status: "PENDING_PAYMENT" };
  }

  async createSeckillBatch(inputs: SeckillOrderInput[]): Promise<SeckillOrderOutcome[]> {
    if (inputs.length > MAX_SECKILL_BATCH) throw badInput(`at most ${MAX_SECKILL_BATCH} orders per call`, { field: "orders" });
    for (const i of inputs) {
      checkIds(i);
      parseAmount(i.unitPrice, i.currency, { field: "unitPrice", allowZero: true }); // bad input refuses the whole call before anything is written
    }
    // well-formed, one per reservation; the rest (address to look up, bad quantity) one by one
    const fresh = new Map<string, SeckillOrderInput>();
    for (const i of inputs)
      if (!i.addressId && Number.isInteger(i.quantity) && i.quantity >= 1 && i.quantity <= MAX_LINE_QUANTITY) fresh.set(i.reservationId, i);
    // the same (sorted) order in every batch: overlapping batches wait on each other instead of deadlocking
    const batch = [...fresh.values()].sort((a, b) => (a.reservationId < b.reservationId ? -1 : 1));
    let written: Awaited<ReturnType<SeckillOrders["insertSeckillOrders"]>> = { found: new Map(), inserted: [] };
    for (let attempt = 0; batch.length; attempt++) {
      try {
        written = await this.insertSeckillOrders(batch);
        break;
      } catch (e) {
        if (attempt >= 2 || !isDeadlock(e)) throw e;
      }
    }
    const { found, inserted } = written;
    const out: SeckillOrderOutcome[] = [];
    for (const i of inputs) {
      let r = found.get(i.reservationId);
      if (!r) found.set(i.reservationId, (r = await this.createSeckill(i)));
      out.push(r);
    }
    // their payment time-out is the workers' sweep of due orders (decision 0051)
    if (inserted.length) await this.d.jobs.flush();
    return out;
  }

  /**
   * One transaction, plain SQL on the pool (decision 0036: Prisma compiled each of its statements per
   * call, most of this path's CPU): ONE statement inserts the orders (`ON CONFLICT DO NOTHING`: a
   * reservation ordered meanwhile, or an orderNo taken, is skipped), their lines and creation status
   * changes, and answers them with the orders the reservations already had; a second writes their
   * status events into the outbox. A reservation in neither (ordered by a transaction that committed
   * meanwhile) is left to `createSeckill`.
   */
  private async insertSeckillOrders(inputs: SeckillOrderInput[]): Promise<{
    found: Map<string, SeckillOrderOutcome>;
    inserted: Array<{ reservationId: string; orderId: string }>;
  }> {
    const [snapshots, orderNos] = await Promise.all([
      this.d.catalog.skuSnapshots([...new Set(inputs.map((i) => i.skuId))]),
      this.d.nextOrderNos(inputs.length),
    ]);
    const snaps = new Map(snapshots.flatMap((s) => (s ? [[s.id, s] as const] : [])));
    const timeout = this.d.seckillPaymentTimeoutSeconds ?? this.d.paymentTimeoutSeconds;
    const now = new Date();
    const expiresAt = new Date(now.getTime() + timeout * 1000);
    const rows = inputs.map((i, n) => {
      const price = parseAmount(i.unitPrice, i.currency, { field: "unitPrice", allowZero: true });
      const snap = snaps.get(i.skuId);
      return {
        rid: i.reservationId,
        id: randomUUID(),
        orderNo: orderNos[n],
        buyerId: i.buyerId,
        currency: i.currency,
        price: formatAmount(price, i.currency),
        total: formatAmount(price.times(i.quantity), i.currency),
        zero: formatAmount(0, i.currency),
        itemId: randomUUID(),
        eventId: randomUUID(),
        skuId: i.skuId,
        spuId: snap?.spuId ?? null,
        title: snap?.title ?? `SKU ${i.skuId}`,
        image: snap?.image ?? null,
        quantity: i.quantity,
      };
    });
    return this.d.sql.$transaction(
      async (tx) => {
        const answered = await tx.$queryRawUnsafe<Array<{ rid: string; id: string; status: string; inserted: boolean }>>(
          INSERT_SECKILL_ORDERS,
          JSON.stringify(rows),
          expiresAt.toISOString(),
          now.toISOString(),
        );
        const found = new Map<string, SeckillOrderOutcome>();
        for (const a of answered) found.set(a.rid, seckillOk(a));
        const got = new Set(answered.flatMap((a) => (a.inserted ? [a.id] : [])));
        const mine = rows.filter((r) => got.has(r.id));
        // the batch's creation events: one outbox row, one order-events job (decision 0039)
        if (mine.length)
          await writeOutbox(tx, [orderStatusEvents(mine.map((r) => ({ eventId: r.eventId, orderId: r.id, buyerId: r.buyerId })))]);
        await this.d.hooks?.seckillBatch?.(mine.map((r) => r.rid));
        return { found, inserted: mine.map((r) => ({ reservationId: r.rid, orderId: r.id })) };
      },
      { maxWait: 10_000, timeout: 20_000 },
    );
  }

  private bySeckillReservation(reservationId: string) {
    return this.d.prisma.order.findUnique({ where: { seckillReservationId: reservationId }, select: { id: true, status: true } });
  }
}

/**
 * $1 the new orders as JSON rows, $2 their payment deadline, $3 now. Inserted in the rows' order (sorted
 * by reservation); what was inserted is answered with `inserted`, then the orders the reservations
 * already had before this statement (its snapshot: an order committed meanwhile is in neither).
 */
const INSERT_SECKILL_ORDERS = `
  WITH x AS (
    SELECT * FROM json_to_recordset($1::json) AS x("rid" text, "id" text, "orderNo" text, "buyerId" text, "currency" text,
      "price" numeric, "total" numeric, "zero" numeric, "itemId" text, "eventId" text, "skuId" text, "spuId" text, "title" text,
      "image" text, "quantity" int)
  ), o AS (
    INSERT INTO "Order" ("id", "orderNo", "buyerId", "kind", "status", "currency", "itemsTotal", "discount", "payable", "address",
      "addressId", "idempotencyKey", "seckillReservationId", "reservationKey", "expiresAt", "createdAt", "updatedAt")
    SELECT "id", "orderNo", "buyerId", 'SECKILL', 'PENDING_PAYMENT', "currency", "total", "zero", "total", '{}'::jsonb,
      '', 'seckill:' || "rid", "rid", 'seckill:' || "rid", $2::timestamp, $3::timestamp, $3::timestamp
    FROM x ORDER BY "rid"
    ON CONFLICT DO NOTHING
    RETURNING "id", "seckillReservationId" AS "rid"
  ), i AS (
    INSERT INTO "OrderItem" ("id", "orderId", "skuId", "spuId", "title", "image", "price", "quantity", "subtotal", "payable")
    SELECT x."itemId", o."id", x."skuId", x."spuId", x."title", x."image", x."price", x."quantity", x."total", x."total"
    FROM o JOIN x ON x."id" = o."id"
  ), e AS (
    INSERT INTO "OrderStatusChange" ("id", "orderId", "from", "to", "reason", "actor", "createdAt")
    SELECT x."eventId", o."id", NULL, 'PENDING_PAYMENT', 'SECKILL', x."buyerId", $3::timestamp
    FROM o JOIN x ON x."id" = o."id"
  )
  SELECT "rid", "id", 'PENDING_PAYMENT' AS "status", true AS "inserted" FROM o
  UNION ALL
  SELECT t."seckillReservationId", t."id", t."status"::text, false FROM "Order" t WHERE t."seckillReservationId" IN (SELECT "rid" FROM x)`;

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
