/**
 * Inventory: available / reserved / sold per SKU, purchase inbound records, and reservations with a
 * time-out. Reserve, release and confirm are single calls of PL/pgSQL functions (migration):
 * all lines or none, idempotent per key, rows locked in SKU order, stock never below zero
 * (conditional UPDATE + CHECK constraint). See docs/decisions/0008-inventory.md.
 * Every call that moves stock or sales bumps the live version of the SPUs it touched after it
 * commits (product-cache.ts), so product views show the change on their next read.
 */
import type { ReservedSku } from "@mallgraph/platform/contracts/catalog";
import { asError, defined } from "@mallgraph/platform/errors";
import { logger } from "@mallgraph/platform/log";
import { formatAmount } from "@mallgraph/platform/money";
import DataLoader from "dataloader";
import { Reason, StockCode, assertQuantity, assertText, badInput, notFound, refuse } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { touchSearch, type Deps } from "./deps.ts";
import type { LiveVersions } from "./product-cache.ts";

export interface StockLine {
  skuId: string;
  quantity: number;
}

export interface ReservationResult {
  code: string;
  failedSkuId: string | null;
  reservationId: string | null;
  status: string | null;
  expiresAt: Date | null;
  /** When code is OK: each SKU of the lines (first occurrence order) as the reservation's statement read it. */
  skus: ReservedSku[] | null;
}

class ReturnRefused extends Error {}

/** The SPUs of a reservation's lines (a subquery in the same statement as the release/confirm). */
const spusOfReservation = (key: string) =>
  Prisma.sql`ARRAY(SELECT DISTINCT k."spuId" FROM "Reservation" v JOIN "ReservationLine" l ON l."reservationId" = v."id" JOIN "Sku" k ON k."id" = l."skuId" WHERE v."key" = ${key})`;

const log = logger("catalog");

export const MAX_TTL_SECONDS = 7 * 24 * 3600;
/** Largest value of the int4 stock counters. */
export const MAX_STOCK = 2_147_483_647;

interface ReserveAsk {
  key: string;
  lines: StockLine[];
  ttl: number;
}

/** catalog_reserve's row, with the reserved SKUs' facts when it holds. */
interface ReserveRow {
  code: string;
  failed_sku_id: string | null;
  reservation_id: string | null;
  status: string | null;
  expires_at: Date | null;
  skus: ReservedSku[] | null;
}

/** The most reservations one statement carries (its rows stay locked until it commits). */
export const MAX_RESERVE_BATCH = 32;

/**
 * When a reservation holds: its SKUs' prices and display facts (the caller prices from them:
 * decision 0049) and their SPUs (whose live versions move), read in the reservation's statement.
 * The SKUs by their primary key (`= ANY(ARRAY(…))`; an `IN (SELECT …)` over the lines was planned as
 * a hash join over every SKU of the catalog), each SPU's image only where the SKU has none.
 */
const SKUS_OF_OK_RESERVATION = (lines: string) => `CASE WHEN r.code = 'OK' THEN (
    SELECT jsonb_agg(jsonb_build_object('skuId', k."id", 'spuId', k."spuId", 'title', k."title", 'price', k."price"::text,
      'currency', k."currency", 'image', COALESCE(k."images"[1], (SELECT p."images"[1] FROM "Spu" p WHERE p."id" = k."spuId"))))
    FROM "Sku" k
    WHERE k."id" = ANY (ARRAY(SELECT l."skuId" FROM jsonb_to_recordset(${lines}) AS l("skuId" text)))
  ) END`;

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const firstSku = (a: ReserveAsk) => a.lines.reduce((m, l) => (m === "" || l.skuId < m ? l.skuId : m), "");

export class InventoryService {
  /** Reservations of one event-loop turn, one statement per batch (decision 0055); off: one each. */
  private readonly reserving: DataLoader<ReserveAsk, ReserveRow>;

  constructor(
    private d: Deps,
    private live: LiveVersions,
    opts: { batchReservations?: boolean } = {},
  ) {
    const batch = opts.batchReservations ?? process.env.CATALOG_RESERVE_BATCH !== "off";
    this.reserving = new DataLoader((asks) => this.reserveBatch(asks), {
      cache: false,
      maxBatchSize: batch ? MAX_RESERVE_BATCH : 1,
      // the turn's calls (a batch of service calls runs its elements in one turn), not only its microtasks
      batchScheduleFn: (run) => setImmediate(run),
    });
  }

  async stock(skuId: string) {
    const inv = await this.d.prisma.inventory.findUnique({ where: { skuId } });
    if (!inv) throw notFound("SKU", skuId);
    return { available: inv.available, reserved: inv.reserved, sold: inv.sold };
  }

  /** Purchase inbound: a record and the stock, in one transaction. */
  async inbound(skuId: string, quantity: number, note: string | null | undefined, operatorId: string | null) {
    assertQuantity(quantity, "quantity");
    if (note != null && note.length > 500) throw badInput("note is longer than 500 characters", { field: "note" });
    const result = await this.d.prisma.$transaction(async (tx) => {
      const sku = await tx.sku.findUnique({ where: { id: skuId }, select: { spuId: true } });
      if (!sku) throw notFound("SKU", skuId);
      // the counters are int4: refuse an inbound that would overflow (row locked, so no race)
      const cur = await tx.$queryRaw<Array<{ available: number }>>`SELECT "available" FROM "Inventory" WHERE "skuId" = ${skuId} FOR UPDATE`;
      if (cur[0] && Number(cur[0].available) + quantity > MAX_STOCK)
        throw refuse(Reason.BAD_QUANTITY, `available stock would exceed ${MAX_STOCK}`, { field: "quantity" });
      await tx.inboundRecord.create({ data: { skuId, quantity, note: note ?? null, operatorId } });
      const inv = await tx.inventory.upsert({
        where: { skuId },
        create: { skuId, available: quantity },
        update: { available: { increment: quantity } },
      });
      if (inv.available === quantity) await touchSearch(tx, [sku.spuId]); // out of stock → in stock
      await this.live.bump([sku.spuId]);
      return { spuId: sku.spuId, stock: { available: inv.available, reserved: inv.reserved, sold: inv.sold } };
    });
    await this.live.bumpAfterCommit([result.spuId]);
    return result.stock;
  }

  inboundRecords(skuId: string, first: number) {
    return this.d.prisma.inboundRecord.findMany({
      where: { skuId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: Math.min(Math.max(first, 1), 100),
    });
  }

  async reserve(key: string, lines: StockLine[], ttlSeconds: number): Promise<ReservationResult> {
    assertText(key, "key", 200);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS)
      throw refuse(Reason.BAD_QUANTITY, `ttlSeconds must be an integer in 1..${MAX_TTL_SECONDS}`, { field: "ttlSeconds" });
    if (!Array.isArray(lines) || lines.length > 200) throw refuse(Reason.BAD_QUANTITY, "1..200 lines", { field: "lines" });
    for (const l of lines) {
      if (!Number.isInteger(l.quantity) || l.quantity <= 0)
        return { code: StockCode.BAD_QUANTITY, failedSkuId: l.skuId, reservationId: null, status: null, expiresAt: null, skus: null };
    }
    const r = await this.reserving.load({ key, lines: lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })), ttl: ttlSeconds });
    let skus: ReservedSku[] | null = null;
    if (r.code === StockCode.OK) {
      const byId = new Map((r.skus ?? []).map((k) => [k.skuId, { ...k, price: formatAmount(k.price, k.currency) }]));
      skus = [...new Set(lines.map((l) => l.skuId))].map((id) => defined(byId.get(id), `the reserved SKU ${id}`));
      await this.live.bumpAfterCommit([...new Set(skus.map((k) => k.spuId))]);
    }
    return {
      code: r.code,
      failedSkuId: r.failed_sku_id,
      reservationId: r.reservation_id,
      status: r.status,
      expiresAt: r.expires_at,
      skus,
    };
  }

  /**
   * The reservations asked in one turn of the event loop, in one statement (decision 0055): one
   * round trip and one commit for all of them, each still all-or-nothing on its own (catalog_reserve's
   * block). Ordered by their first SKU, so that batches of one-SKU reservations take their rows in one
   * global order. A statement that fails as a whole (a deadlock between batches of several-SKU
   * reservations, a lost connection) kept nothing — or, lost around its commit, everything, which a
   * repeat under the same keys answers as it is: each reservation then runs on its own.
   */
  private async reserveBatch(asks: readonly ReserveAsk[]): Promise<Array<ReserveRow | Error>> {
    if (asks.length === 1) return [await this.reserveOne(defined(asks[0], "the reservation")).catch(asError)];
    const order = asks.map((a, i) => ({ i, first: firstSku(a), key: a.key })).sort((x, y) => cmp(x.first, y.first) || cmp(x.key, y.key));
    const batch = JSON.stringify(order.map(({ i }) => defined(asks[i], "a reservation")));
    try {
      const rows = await this.d.sql.$queryRawUnsafe<Array<ReserveRow & { n: number | string }>>(
        `SELECT b.n, r.*, ${SKUS_OF_OK_RESERVATION("b.ask->'lines'")} AS skus
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS b(ask, n)
         -- one row per call: a bare set-returning function is estimated at 1,000 rows, and the plan's
         -- cost then crossed jit_above_cost (300 ms of JIT compilation per statement)
         CROSS JOIN LATERAL (SELECT * FROM catalog_reserve(b.ask->>'key', b.ask->'lines', (b.ask->>'ttl')::int) LIMIT 1) r`,
        batch,
      );
      const out: Array<ReserveRow | Error> = asks.map(() => new Error("catalog_reserve answered no row for the reservation"));
      for (const row of rows) out[defined(order[Number(row.n) - 1], "a batch row's reservation").i] = row;
      return out;
    } catch (e) {
      log.info({ err: e, reservations: asks.length }, "a batch of reservations failed as a whole; each runs on its own");
      return Promise.all(asks.map((a) => this.reserveOne(a).catch(asError)));
    }
  }

  private async reserveOne(a: ReserveAsk): Promise<ReserveRow> {
    const rows = await this.d.sql.$queryRawUnsafe<ReserveRow[]>(
      `SELECT r.*, ${SKUS_OF_OK_RESERVATION("$2::jsonb")} AS skus FROM catalog_reserve($1, $2::jsonb, $3::int) r`,
      a.key,
      JSON.stringify(a.lines),
      a.ttl,
    );
    return defined(rows[0], "catalog_reserve's row");
  }

  /** Gives reserved stock back. True when the reservation is released (now or before). */
  async release(key: string): Promise<boolean> {
    return (await this.releaseDetailed(key)).status === "RELEASED";
  }

  async releaseDetailed(key: string): Promise<{ changed: boolean; status: string | null }> {
    assertText(key, "key", 200);
    const rows = await this.d.prisma.$queryRaw<Array<{ changed: boolean; status: string | null; spu_ids: string[] | null }>>`
      SELECT r.*, CASE WHEN r.changed THEN ${spusOfReservation(key)} END AS spu_ids FROM catalog_release(${key}) r`;
    return this.afterSettle(defined(rows[0], "catalog_release's row"));
  }

  /** Reserved → sold. True when the reservation is confirmed (now or before). */
  async confirm(key: string): Promise<boolean> {
    return (await this.confirmDetailed(key)).status === "CONFIRMED";
  }

  async confirmDetailed(key: string): Promise<{ changed: boolean; status: string | null }> {
    assertText(key, "key", 200);
    const rows = await this.d.prisma.$queryRaw<Array<{ changed: boolean; status: string | null; spu_ids: string[] | null }>>`
      SELECT r.*, CASE WHEN r.changed THEN ${spusOfReservation(key)} END AS spu_ids FROM catalog_confirm(${key}) r`;
    return this.afterSettle(defined(rows[0], "catalog_confirm's row"));
  }

  private async afterSettle(r: {
    changed: boolean;
    status: string | null;
    spu_ids: string[] | null;
  }): Promise<{ changed: boolean; status: string | null }> {
    if (r.changed) await this.live.bumpAfterCommit(r.spu_ids ?? []);
    return { changed: r.changed, status: r.status };
  }

  /**
   * Sold → available for `quantity` of one SKU (a seckill session's unsold allocation goes back).
   * Idempotent per key: the key is recorded as a CONFIRMED tombstone reservation "return:<key>" in
   * the same transaction, so a repeated call changes nothing and answers true. False (nothing
   * written) when the SKU has less than `quantity` sold.
   */
  async returnSold(key: string, skuId: string, quantity: number): Promise<boolean> {
    assertText(key, "key", 190);
    assertQuantity(quantity, "quantity");
    const tombstone = `return:${key}`;
    let spuId: string | undefined;
    return this.d.prisma
      .$transaction(async (tx) => {
        const sku = await tx.sku.findUnique({ where: { id: skuId }, select: { spuId: true } });
        if (!sku) throw notFound("SKU", skuId);
        spuId = sku.spuId;
        const inserted = await tx.$executeRaw`
        INSERT INTO "Reservation" ("id", "key", "status", "expiresAt", "createdAt", "updatedAt")
        VALUES (gen_random_uuid()::text, ${tombstone}, 'CONFIRMED', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')) ON CONFLICT ("key") DO NOTHING`;
        if (inserted === 0) return true;
        const moved = await tx.$executeRaw`
        UPDATE "Inventory" SET "sold" = "sold" - ${quantity}::int, "available" = "available" + ${quantity}::int, "updatedAt" = (now() AT TIME ZONE 'UTC')
        WHERE "skuId" = ${skuId} AND "sold" >= ${quantity}::int`;
        if (moved !== 1) throw new ReturnRefused();
        await tx.$executeRaw`UPDATE "Spu" SET "sales" = GREATEST("sales" - ${quantity}::int, 0) WHERE "id" = ${sku.spuId}`;
        await tx.inboundRecord.create({ data: { skuId, quantity, note: `returned: ${key}`, operatorId: null } });
        await touchSearch(tx, [sku.spuId]);
        await this.live.bump([sku.spuId]);
        return true;
      })
      .then(async (done) => {
        if (spuId) await this.live.bumpAfterCommit([spuId]);
        return done;
      })
      .catch((e) => {
        if (e instanceof ReturnRefused) return false;
        throw e;
      });
  }

  /** Releases reservations whose time-out passed (the inventory-reservations job). Returns how many. */
  async releaseExpired(limit = 500): Promise<number> {
    const due = await this.d.prisma.reservation.findMany({
      where: { status: "PENDING", expiresAt: { lt: new Date() } },
      orderBy: { expiresAt: "asc" },
      take: limit,
      select: { key: true },
    });
    let n = 0;
    for (const r of due) if ((await this.releaseDetailed(r.key)).changed) n++;
    return n;
  }
}
