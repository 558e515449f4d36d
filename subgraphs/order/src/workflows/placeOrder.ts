/**
 * Placing an order, a durable workflow (packages/platform/src/workflow.ts, decision 0031):
 *
 *   reserveStock  → catalog inventoryReserve(key = "order:<orderId>"),
 *                   answering the SKUs' prices: the lines at them        ⟲ inventoryRelease(key)
 *   priceLines    → promotion's quote of the lines
 *                   (refusals: MIXED_CURRENCY, COUPON_UNAVAILABLE, PRICE_CHANGED: the reservation is released)
 *   lockCoupon    → promotion couponLock at the quote's coupon discount
 *                   (idempotent per orderId)                             ⟲ couponRelease(orderId)
 *   createOrder   → one DB statement (one transaction): order + items + status history
 *     (pivot)       + outbox row + the run's record                      ⟲ delete the order
 *   removeFromCart→ cart cartRemoveSkus (fromCart only; best-effort)
 *
 * A failure before the order is written undoes the earlier steps in reverse; so does the sweep for
 * a run whose process died before it (both compensations are idempotent and no-ops when their step
 * never ran). Once the order is committed the run only goes forward. The hot path pays one write
 * for the run (inserted before reserveStock); createOrder's transaction records the rest, and
 * completes the run when there is no cart to clean (a direct buy).
 *
 * Unit prices come only from the SKUs the reservation's own statement read (one catalog call
 * reserves and prices: decision 0049); discounts only from promotion's quote of those lines. The
 * caller (services/place.ts) serialises submissions with one idempotency key; the run's first record
 * is written only when no order of this key exists (a retry aborts with DUPLICATE before the
 * reservation: decision 0050), and the unique (buyerId, idempotencyKey) index is the final guard.
 */
import { randomUUID } from "node:crypto";
import { uniqueViolationTarget } from "@mallgraph/platform/db-errors";
import { AppError, defined } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { outboxInsert, sqlParams } from "@mallgraph/platform/outbox";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { WorkflowAbort, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import { OrderCode } from "../errors.ts";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";
import { orderStatusEvent, withdrawOrderEvents } from "../services/outbox.ts";
import type { AddressSnapshot, CartPort, CatalogPort, PriceQuote, PromotionPort, ReservedSku, StockLine } from "../services/ports.ts";
import type { OrderRecord } from "../services/types.ts";

export interface PricedLine {
  skuId: string;
  quantity: number;
  /** The SKU as the reservation's statement read it (price, currency, title, image). */
  snapshot: ReservedSku;
  price: Decimal;
  subtotal: Decimal;
  /** The promotions' share of the line (promotion's quote). */
  discount: Decimal;
  /** subtotal − discount. */
  payable: Decimal;
}

/** What the run records: the keys that undo the steps before the pivot and finish the one after it. */
export interface PlaceOrderKeys {
  orderId: string;
  buyerId: string;
  reservationKey: string;
  couponId: string | null;
  fromCart: boolean;
  skuIds: string[];
}

/** The order to write; only the running process has it (after a crash the run is undone, or past createOrder). */
export interface OrderDraft {
  idempotencyKey: string;
  /** The lines as asked (one per SKU); reserveStock reserves them into `lines`, priceLines takes the discounts. */
  asked: StockLine[];
  /** Set by reserveStock (at the reserved prices), discounted by priceLines; in the order of `asked`. */
  lines: PricedLine[];
  /** Set by priceLines. */
  currency: string;
  itemsTotal: Decimal;
  /** Campaigns and coupon (the sum of the lines' discounts). */
  discount: Decimal;
  address: AddressSnapshot;
  /** The coupon's part of `discount` (locked at this amount). */
  couponDiscount: Decimal;
  /** The payable the buyer saw (exact decimal, parsed in the order's currency), or null. */
  expectedPayable: string | null;
  note: string | null;
  paymentMethod: string | null;
  expiresAt: Date;
  reservationTtlSeconds: number;
  /** The order lines' ids, one per line. */
  itemIds: string[];
  /** The order number taken with the submission's lock (createOrder takes another only after a collision). */
  orderNo: string;
}

export interface PlaceOrderState {
  keys: PlaceOrderKeys;
  draft: OrderDraft | null;
  /** Set by createOrder. */
  orderNo?: string;
  placedAt?: Date;
  eventIds: string[];
}

export interface PlaceOrderDeps {
  prisma: PrismaClient;
  catalog: CatalogPort;
  cart: CartPort;
  promotion: PromotionPort;
  nextOrderNo: () => Promise<string>;
  log: Logger;
}

export const placeOrderRunId = (orderId: string) => `placeOrder:${orderId}`;

const draft = (s: PlaceOrderState) => defined(s.draft, "the order draft");

export function placeOrderWorkflow(deps: PlaceOrderDeps): WorkflowDefinition<PlaceOrderState, PgSql> {
  return {
    name: "placeOrder",
    pivot: "createOrder",
    // the run's insert before reserveStock needs no flush of its own: a reservation that no run guards
    // lapses when it expires, and the order's durable commit flushes the record (decisions 0040, 0049)
    firstRecordUnflushed: true,
    // a retry of an order placed already (its buyer's idempotency key) writes nothing and reserves nothing:
    // the run's first record looks for it, instead of a look-up statement of its own (decision 0050)
    firstRecordGuard: (s, first) => ({
      condition: `NOT EXISTS (SELECT 1 FROM "Order" WHERE "buyerId" = $${first}::text AND "idempotencyKey" = $${first + 1}::text)`,
      values: [s.keys.buyerId, draft(s).idempotencyKey],
      abort: "DUPLICATE",
    }),
    encode: (s) => s.keys,
    decode: (json) => ({ keys: json as PlaceOrderKeys, draft: null, eventIds: [] }),
    steps: [
      {
        id: "reserveStock",
        // A timed-out reserve call may still have reserved: release (idempotent) in that case too.
        compensateOnError: true,
        async invoke(s) {
          const d = draft(s);
          const r = await deps.catalog.reserve(s.keys.reservationKey, d.asked, d.reservationTtlSeconds);
          if (r.code !== "OK") throw new WorkflowAbort(r.code === "RELEASED" ? "OUT_OF_STOCK" : r.code, { failedSkuId: r.failedSkuId });
          const bySku = new Map((r.skus ?? []).map((k) => [k.skuId, k]));
          d.lines = d.asked.map((l) => {
            const snapshot = defined(bySku.get(l.skuId), `catalog's answer for the reserved SKU ${l.skuId}`);
            const price = new Decimal(snapshot.price);
            const subtotal = price.times(l.quantity);
            return { skuId: l.skuId, quantity: l.quantity, snapshot, price, subtotal, discount: new Decimal(0), payable: subtotal };
          });
        },
        async compensate(s) {
          await deps.catalog.release(s.keys.reservationKey);
        },
      },
      {
        // Promotion's quote of the reserved lines (campaigns, the coupon: the same pricing function the
        // cart shows). A refusal here undoes the reservation.
        id: "priceLines",
        async invoke(s) {
          await priceLines(deps.promotion, s.keys, draft(s));
        },
      },
      {
        // Locks the buyer's coupon for this order and takes its discount (promotion's couponLock,
        // idempotent per orderId). A timed-out lock may have locked: release (idempotent) then too.
        id: "lockCoupon",
        compensateOnError: true,
        skip: (s) => !s.keys.couponId,
        async invoke(s) {
          const d = draft(s);
          const couponId = defined(s.keys.couponId, "the coupon");
          const r = await deps.promotion.lockCoupon(
            s.keys.buyerId,
            couponId,
            s.keys.orderId,
            d.currency,
            formatAmount(d.couponDiscount, d.currency),
          );
          if (r.code !== "OK") throw new WorkflowAbort("COUPON_UNAVAILABLE");
        },
        async compensate(s) {
          await deps.promotion.releaseCoupon(s.keys.orderId);
        },
      },
      {
        id: "createOrder",
        local: true,
        // An ambiguous failure (connection lost around COMMIT) may still have created the order:
        // delete it too (a no-op when it was not created), so no order outlives its released stock.
        compensateOnError: true,
        async invoke(s, ctx) {
          for (let attempt = 0; ; attempt++) {
            const orderNo = attempt === 0 ? draft(s).orderNo : await deps.nextOrderNo();
            const now = new Date();
            try {
              const eventId = randomUUID();
              await ctx.statement((first, cte) => createOrderRows(first, cte, s.keys, draft(s), orderNo, now, eventId));
              s.orderNo = orderNo;
              s.placedAt = now;
              s.eventIds.push(eventId);
              return;
            } catch (e) {
              const target = uniqueViolationTarget(e);
              if (target?.includes("idempotencyKey")) throw new WorkflowAbort("DUPLICATE");
              // orderNo collision (clock skew beyond the sequence key's life): take another number
              if (target?.includes("orderNo") && attempt < 3) continue;
              throw e;
            }
          }
        },
        async compensate(s) {
          await deps.prisma.$transaction(async (tx) => {
            await tx.order.deleteMany({ where: { id: s.keys.orderId } });
            await withdrawOrderEvents(tx, s.keys.orderId);
          });
        },
      },
      {
        id: "removeFromCart",
        bestEffort: true,
        skip: (s) => !s.keys.fromCart,
        async invoke(s) {
          await deps.cart.removeSkus(s.keys.buyerId, s.keys.skuIds);
        },
      },
    ],
  };
}

/**
 * priceLines: one currency for all lines, the quote (promotion's `promotionPrice`) of the lines
 * reserveStock priced, the coupon the buyer named applied, and the payable the buyer saw matched.
 * Refusals are WorkflowAbort (MIXED_CURRENCY, COUPON_UNAVAILABLE with promotion's reason,
 * PRICE_CHANGED with the quote); an unreadable `expectedPayable` aborts with BAD_INPUT carrying the
 * input error.
 */
async function priceLines(promotion: PromotionPort, k: PlaceOrderKeys, d: OrderDraft): Promise<void> {
  const lines = d.lines;
  const currency = defined(lines[0], "a reserved line").snapshot.currency;
  if (lines.some((l) => l.snapshot.currency !== currency)) throw new WorkflowAbort(OrderCode.MIXED_CURRENCY);
  const expected = expectedPayable(d.expectedPayable, currency);
  const quote: PriceQuote = await promotion.price(
    k.buyerId,
    currency,
    lines.map((l) => ({ skuId: l.skuId, spuId: l.snapshot.spuId, unitPrice: formatAmount(l.price, currency), quantity: l.quantity })),
    k.couponId,
  );
  if (k.couponId && !quote.coupon) throw new WorkflowAbort(OrderCode.COUPON_UNAVAILABLE, { couponReason: quote.couponReason ?? "UNKNOWN" });
  if (expected && !expected.eq(quote.payable)) throw new WorkflowAbort(OrderCode.PRICE_CHANGED, { quote });
  lines.forEach((l, i) => {
    const q = quote.lines[i];
    if (q?.skuId !== l.skuId) throw new Error("promotion quoted other lines than asked");
    l.discount = new Decimal(q.discount);
    l.payable = new Decimal(q.payable);
  });
  d.currency = currency;
  d.itemsTotal = new Decimal(quote.itemsTotal);
  d.discount = new Decimal(quote.discount);
  d.couponDiscount = new Decimal(quote.coupon?.discount ?? 0);
}

/** The payable the buyer saw, in the order's currency (its digits checked against it): a bad one aborts with BAD_INPUT carrying the input error. */
function expectedPayable(value: string | null, currency: string): Decimal | null {
  try {
    return value != null ? parseAmount(value, currency, { field: "expectedPayable", allowZero: true }) : null;
  } catch (e) {
    if (e instanceof AppError) throw new WorkflowAbort("BAD_INPUT", { error: e });
    throw e;
  }
}

/**
 * The order, its lines, its first status change and its status event (the job outbox) as the
 * data-modifying CTEs of the step's one statement, after the run's record (`StepContext.statement`:
 * one round trip for what was BEGIN, two writes, the run's update and COMMIT; plain SQL on the
 * domain's pool, decision 0035, 0046; the placements of one turn in one statement, each with its own
 * CTE names from `cte`, decision 0056). Every row hangs off the order's insert, which hangs off the
 * run's record: a run taken over writes nothing. Amounts go in as the exact decimal strings they are.
 */
function createOrderRows(
  first: number,
  cte: (name: string) => string,
  k: PlaceOrderKeys,
  s: OrderDraft,
  orderNo: string,
  now: Date,
  eventId: string,
): { ctes: string; values: unknown[] } {
  const c = s.currency;
  const lines = s.lines.map((l, i) => ({
    id: defined(s.itemIds[i], "an order line's id"),
    skuId: l.skuId,
    spuId: l.snapshot.spuId,
    title: l.snapshot.title,
    image: l.snapshot.image,
    price: formatAmount(l.price, c),
    quantity: l.quantity,
    subtotal: formatAmount(l.subtotal, c),
    discount: formatAmount(l.discount, c),
    payable: formatAmount(l.payable, c),
  }));
  const values: unknown[] = [];
  const p = sqlParams(first, values);
  const buyer = p(k.buyerId);
  const at = p(now.toISOString());
  const o = cte("o");
  const ctes = `${o} AS (
       INSERT INTO "Order" ("id", "orderNo", "buyerId", "status", "currency", "itemsTotal", "discount", "payable", "address", "addressId",
         "note", "paymentMethod", "couponId", "fromCart", "idempotencyKey", "reservationKey", "expiresAt", "createdAt", "updatedAt")
       SELECT ${p(k.orderId)}, ${p(orderNo)}, ${buyer}, 'PENDING_PAYMENT', ${p(c)}, ${p(formatAmount(s.itemsTotal, c))}::numeric,
         ${p(formatAmount(s.discount, c))}::numeric, ${p(formatAmount(s.itemsTotal.minus(s.discount), c))}::numeric, ${p(JSON.stringify(s.address))}::jsonb,
         ${p(s.address.id)}, ${p(s.note)}, ${p(s.paymentMethod)}, ${p(k.couponId)}, ${p(k.fromCart)}::boolean, ${p(s.idempotencyKey)},
         ${p(k.reservationKey)}, ${p(s.expiresAt.toISOString())}::timestamp, ${at}::timestamp, ${at}::timestamp
       FROM ${cte("run")}
       RETURNING "id"
     ), ${cte("i")} AS (
       INSERT INTO "OrderItem" ("id", "orderId", "skuId", "spuId", "title", "image", "price", "quantity", "subtotal", "discount", "payable")
       SELECT l."id", o."id", l."skuId", l."spuId", l."title", l."image", l."price", l."quantity", l."subtotal", l."discount", l."payable"
       FROM ${o} o, jsonb_to_recordset(${p(JSON.stringify(lines))}::jsonb) AS l("id" text, "skuId" text, "spuId" text, "title" text, "image" text,
         "price" numeric, "quantity" int, "subtotal" numeric, "discount" numeric, "payable" numeric)
     ), ${cte("sc")} AS (
       INSERT INTO "OrderStatusChange" ("id", "orderId", "from", "to", "reason", "actor", "createdAt")
       SELECT ${p(eventId)}, o."id", NULL, 'PENDING_PAYMENT', 'PLACED', ${buyer}, ${at}::timestamp FROM ${o} o
     ), ${cte("ob")} AS (
       ${outboxInsert([orderStatusEvent(eventId, k.orderId, k.buyerId)], p, o)}
     )`;
  return { ctes, values };
}

/**
 * The order createOrder wrote, as a read would return it (Prisma's types: exact decimals, UTC
 * instants, the columns' defaults) — the placement answers with it instead of reading it back.
 */
export function placedOrder(s: PlaceOrderState): OrderRecord {
  const k = s.keys;
  const d = draft(s);
  const c = d.currency;
  const placedAt = defined(s.placedAt, "the placement's time");
  const dec = (v: Decimal) => new Prisma.Decimal(formatAmount(v, c));
  const zero = new Prisma.Decimal(0);
  return {
    id: k.orderId,
    orderNo: defined(s.orderNo, "the order number"),
    buyerId: k.buyerId,
    kind: "NORMAL",
    status: "PENDING_PAYMENT",
    currency: c,
    itemsTotal: dec(d.itemsTotal),
    discount: dec(d.discount),
    payable: dec(d.itemsTotal.minus(d.discount)),
    refundedAmount: zero,
    address: { ...d.address },
    addressId: d.address.id,
    note: d.note,
    paymentMethod: d.paymentMethod,
    couponId: k.couponId,
    fromCart: k.fromCart,
    idempotencyKey: d.idempotencyKey,
    seckillReservationId: null,
    reservationKey: k.reservationKey,
    paymentId: null,
    paymentChannel: null,
    expiresAt: d.expiresAt,
    paidAt: null,
    shippedAt: null,
    completedAt: null,
    cancelledAt: null,
    cancelReason: null,
    createdAt: placedAt,
    updatedAt: placedAt,
    items: d.lines
      .map((l, i) => ({
        id: defined(d.itemIds[i], "an order line's id"),
        orderId: k.orderId,
        skuId: l.skuId,
        spuId: l.snapshot.spuId,
        title: l.snapshot.title,
        image: l.snapshot.image,
        price: dec(l.price),
        quantity: l.quantity,
        subtotal: dec(l.subtotal),
        discount: dec(l.discount),
        payable: dec(l.payable),
        afterSaleQuantity: 0,
        afterSaleAmount: zero,
      }))
      .sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0)),
  };
}
