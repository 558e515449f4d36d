/**
 * The PostgreSQL copy of seckill reservations (decision 0032, docs/redis-data.md). Redis holds the
 * first copy: the buy script writes the reservation and, in the same call, its snapshot to the home
 * shard's stream; every later change (confirmed, ordered, failed, cancelled, paid) adds a newer
 * snapshot. The stream consumer (seckill-stream.ts) writes them here in batches — a newer `version`
 * over an older one only, so entries arriving twice or out of order change nothing.
 */
import type { Logger } from "@mallgraph/platform/log";
import { formatAmount } from "@mallgraph/platform/money";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import type { PrismaClient } from "../generated/prisma/client.ts";

/** A reservation that took stock, as its Redis hash (and each stream entry) holds it. */
export interface ReservationSnapshot {
  id: string;
  sessionId: string;
  skuId: string;
  buyerId: string;
  quantity: number;
  unitPrice: string;
  currency: string;
  status: string;
  settled: boolean;
  orderId: string | null;
  orderStatus: string | null;
  home: number;
  stockShard: number;
  seq: number;
  idemKey: string | null;
  version: number;
  createdMs: number;
}

const STATUSES = new Set(["PENDING", "ORDERED", "FAILED", "CANCELLED"]);

/** The snapshot in a reservation hash or stream entry; null for a HOLD (no stock yet) or anything incomplete. */
export function snapshotOf(h: Record<string, string | undefined>): ReservationSnapshot | null {
  const int = (v: string | undefined) => (v != null && /^-?\d+$/.test(v) ? Number(v) : NaN);
  // reservations made before the copy existed carry no seq or version: 0 (any later change is newer)
  const r: ReservationSnapshot = {
    id: h.id ?? "",
    sessionId: h.sessionId ?? "",
    skuId: h.skuId ?? "",
    buyerId: h.buyerId ?? "",
    quantity: int(h.quantity),
    unitPrice: h.unitPrice ?? "",
    currency: h.currency ?? "",
    status: h.status ?? "",
    settled: h.settled === "1",
    orderId: h.orderId || null,
    orderStatus: h.orderStatus || null,
    home: int(h.home),
    stockShard: int(h.stockShard),
    seq: h.seq == null ? 0 : int(h.seq),
    idemKey: h.idemKey || null,
    version: h.v == null ? 0 : int(h.v),
    createdMs: int(h.createdMs),
  };
  const numbers = [r.quantity, r.home, r.stockShard, r.seq, r.version, r.createdMs];
  if (!r.id || !r.sessionId || !r.skuId || !r.buyerId || !r.unitPrice || !r.currency || !STATUSES.has(r.status)) return null;
  return numbers.every(Number.isFinite) ? r : null;
}

/** Redis' fields of a snapshot (what reconciliation writes back into a reservation hash). */
export function hashOf(r: ReservationSnapshot): Record<string, string | number> {
  const h: Record<string, string | number> = {
    id: r.id,
    sessionId: r.sessionId,
    skuId: r.skuId,
    buyerId: r.buyerId,
    quantity: r.quantity,
    unitPrice: r.unitPrice,
    currency: r.currency,
    status: r.status,
    createdMs: r.createdMs,
    home: r.home,
    stockShard: r.stockShard,
    seq: r.seq,
    v: r.version,
  };
  if (r.idemKey) h.idemKey = r.idemKey;
  if (r.orderId) h.orderId = r.orderId;
  if (r.orderStatus) h.orderStatus = r.orderStatus;
  if (r.settled) h.settled = "1";
  return h;
}

/** PostgreSQL's timestamp(3) holds UTC without a zone (as Prisma writes it). */
const utc = (ms: number) => new Date(ms).toISOString().replace("Z", "");

export class SeckillCopy {
  constructor(
    private readonly prisma: PrismaClient,
    /** The write: plain SQL on the same pool (Prisma compiled even this raw statement per call, decision 0036). */
    private readonly sql: PgSql,
    private readonly log: Logger,
  ) {}

  /**
   * Writes snapshots in one statement: new reservations are inserted, known ones take a newer version.
   * Answers how many reservations were not in PostgreSQL before.
   */
  async write(snapshots: ReservationSnapshot[]): Promise<number> {
    const newest = new Map<string, ReservationSnapshot>();
    for (const r of snapshots) {
      const had = newest.get(r.id);
      if (!had || had.version < r.version) newest.set(r.id, r);
    }
    const rs = [...newest.values()];
    if (!rs.length) return 0;
    const rows = await this.sql.$queryRawUnsafe<Array<{ inserted: boolean }>>(
      `INSERT INTO "SeckillReservation" AS t ("id", "sessionId", "skuId", "buyerId", "quantity", "unitPrice", "currency", "status",
         "settled", "orderId", "orderStatus", "homeShard", "stockShard", "seq", "idemKey", "version", "reservedAt")
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::numeric[], $7::text[], $8::text[],
         $9::boolean[], $10::text[], $11::text[], $12::int[], $13::int[], $14::int[], $15::text[], $16::int[], $17::timestamp(3)[])
       ON CONFLICT ("id") DO UPDATE SET "status" = EXCLUDED."status", "settled" = EXCLUDED."settled",
         "orderId" = COALESCE(EXCLUDED."orderId", t."orderId"), "orderStatus" = COALESCE(EXCLUDED."orderStatus", t."orderStatus"),
         "stockShard" = EXCLUDED."stockShard", "version" = EXCLUDED."version", "updatedAt" = CURRENT_TIMESTAMP
       WHERE t."version" < EXCLUDED."version"
       RETURNING (xmax = 0) AS inserted`,
      rs.map((r) => r.id),
      rs.map((r) => r.sessionId),
      rs.map((r) => r.skuId),
      rs.map((r) => r.buyerId),
      rs.map((r) => r.quantity),
      rs.map((r) => r.unitPrice),
      rs.map((r) => r.currency),
      rs.map((r) => r.status),
      rs.map((r) => r.settled),
      rs.map((r) => r.orderId),
      rs.map((r) => r.orderStatus),
      rs.map((r) => r.home),
      rs.map((r) => r.stockShard),
      rs.map((r) => r.seq),
      rs.map((r) => r.idemKey),
      rs.map((r) => r.version),
      rs.map((r) => utc(r.createdMs)),
    );
    const inserted = rows.filter((r) => r.inserted).length;
    this.log.debug({ written: rows.length, inserted }, "seckill reservations copied to PostgreSQL");
    return inserted;
  }

  /** Every copied reservation of an item. */
  async ofItem(sessionId: string, skuId: string): Promise<ReservationSnapshot[]> {
    const rows = await this.prisma.seckillReservation.findMany({ where: { sessionId, skuId } });
    return rows.map((r) => ({
      id: r.id,
      sessionId: r.sessionId,
      skuId: r.skuId,
      buyerId: r.buyerId,
      quantity: r.quantity,
      unitPrice: formatAmount(r.unitPrice, r.currency),
      currency: r.currency,
      status: r.status,
      settled: r.settled,
      orderId: r.orderId,
      orderStatus: r.orderStatus,
      home: r.homeShard,
      stockShard: r.stockShard,
      seq: r.seq,
      idemKey: r.idemKey,
      version: r.version,
      createdMs: r.reservedAt.getTime(),
    }));
  }
}
