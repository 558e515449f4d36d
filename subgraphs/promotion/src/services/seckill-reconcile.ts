/**
 * Reconciliation of seckill items after Redis lost data (decision 0032, docs/redis-data.md). Redis
 * holds the first copy of reservations and live stock; PostgreSQL a copy of every reservation within
 * a second or two (seckill-copy.ts). When Redis comes back without (some of) its data, an item's
 * Redis state is rebuilt from PostgreSQL:
 *
 *   1. fence: every shard of the item answers NOT_ONLINE (meta status RECONCILING), so no buy or take
 *      runs on half-rebuilt keys; a short grace lets buys in flight finish;
 *   2. whatever Redis still holds is copied to PostgreSQL first: the snapshots in the shards' streams
 *      and the reservations of the pending / ordered lists (counted: `copiedFromRedis`);
 *   3. from the copies: stock left = each shard's part − what live reservations (PENDING, ORDERED) took
 *      (never below zero: no oversell); the buyers' limits, open counts, pending and ordered lists,
 *      reservation hashes, idempotency keys and seq counters; PENDING ones go to the stream again so
 *      their orders are made (once: order is idempotent per reservationId); ORDERED ones are watched
 *      by the order status poll as before (cancelled → stock back, paid → settled);
 *   4. a reservation known to have been made but found nowhere — a gap in a shard's seq numbers — is
 *      counted as `lost` (log line, metric `mg_redis_reconcile_total{kind="lost"}`), never as sold;
 *   5. each shard is written in one MULTI that also lifts the fence.
 *
 * HOLDs (a buy still looking for stock on another shard) and unsettled takes are dropped: their buys
 * find the fence and answer SOLD_OUT. What cannot be known: reservations made in the last moment
 * before Redis lost its data that had not reached PostgreSQL yet (after the highest seq copied); with
 * AOF (`appendfsync everysec`) a crash of the Redis process loses none, a crash of the machine up to a
 * second of writes.
 *
 * Runs: by operators (`adminReconcileSeckill`, audited), and by the workers at start-up and on every
 * lifecycle tick when they find an item damaged: a shard's meta missing, or its seq counter behind the
 * highest seq PostgreSQL has (Redis is older than its copy). The lifecycle never closes a damaged item.
 */
import { randomUUID } from "node:crypto";
import { AppError, defined } from "@mallgraph/platform/errors";
import { bound, reconciliations } from "@mallgraph/platform/metrics";
import { formatAmount } from "@mallgraph/platform/money";
import { lockReleaser } from "@mallgraph/platform/redis";
import { parseEntries } from "@mallgraph/platform/streams";
import { PromotionErrorCode } from "../errors.ts";
import { splitStock } from "./keys.ts";
import { hashOf, snapshotOf, type ReservationSnapshot, type SeckillCopy } from "./seckill-copy.ts";
import { SETTLED_RETENTION_SECONDS, type ItemRef, type SeckillStore } from "./seckill-store.ts";

export interface SeckillReconcileReport {
  /** Items whose Redis state was rebuilt. */
  items: number;
  /** Reservations of those items in PostgreSQL (live or settled) the rebuilt state holds. */
  reservations: number;
  /** Reservations Redis had that PostgreSQL had not yet: copied before the rebuild. */
  copiedFromRedis: number;
  /** Reservations known to have been made (seq numbers) but found neither in Redis nor in PostgreSQL. */
  lost: number;
  /** Stock left in Redis over the rebuilt items. */
  remainingStock: number;
  /** Units held by their live reservations (PENDING, ORDERED). */
  heldStock: number;
}

const EMPTY: SeckillReconcileReport = { items: 0, reservations: 0, copiedFromRedis: 0, lost: 0, remainingStock: 0, heldStock: 0 };
const counted = bound(reconciliations);

/** An item with what its rebuild needs from its session. */
interface ItemRow {
  sessionId: string;
  skuId: string;
  slot: number;
  shards: number;
  stock: number;
  perUserLimit: number;
  seckillPrice: { toString(): string };
  currency: string;
  session: { status: string; startsAt: Date; endsAt: Date };
}

export class SeckillReconciliation {
  private readonly release: (key: string, token: string) => Promise<number>;

  constructor(
    private readonly s: SeckillStore,
    private readonly copy: SeckillCopy,
    /** Pause between fencing an item and reading it (buys in flight finish; ms). */
    private readonly graceMs = 1000,
  ) {
    this.release = lockReleaser(s.d.redis);
  }

  /** Items whose Redis state is live: sessions online, or ended / cancelled with their stock not yet back in catalog. */
  private async liveItems(sessionId?: string): Promise<ItemRow[]> {
    return this.s.d.prisma.seckillItem.findMany({
      where: {
        returnedStock: null,
        ...(sessionId ? { sessionId } : {}),
        session: { status: { in: ["ONLINE", "ENDED", "CANCELLED"] }, stockReturnedAt: null },
      },
      include: { session: { select: { status: true, startsAt: true, endsAt: true } } },
    });
  }

  /** Items a shard of which lost its meta, or whose seq counter is behind the highest seq PostgreSQL has. */
  async damaged(items?: ItemRow[]): Promise<ItemRow[]> {
    const rows = items ?? (await this.liveItems());
    if (!rows.length) return [];
    const shards = rows.flatMap((item) => Array.from({ length: item.shards }, (_, n) => ({ item, n })));
    const copied = await this.s.d.prisma.$queryRawUnsafe<Array<{ i: number; seq: number | null }>>(
      `SELECT s.i, (SELECT max(r."seq") FROM "SeckillReservation" r
         WHERE r."sessionId" = s.session AND r."skuId" = s.sku AND r."homeShard" = s.shard) AS seq
       FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS s(session, sku, shard, i)`,
      shards.map((x) => x.item.sessionId),
      shards.map((x) => x.item.skuId),
      shards.map((x) => x.n),
    );
    const highest = new Map(copied.map((c) => [Number(c.i) - 1, Number(c.seq ?? 0)]));
    // one command per key (each shard is a slot of its own on a Redis Cluster; auto-pipelining batches them per node)
    const states = await Promise.all(
      shards.map(({ item, n }) => {
        const k = this.s.keys(item, n);
        return Promise.all([this.s.d.redis.hget(k.meta, "limit"), this.s.d.redis.get(k.seq)]);
      }),
    );
    const bad = new Set<ItemRow>();
    shards.forEach(({ item }, i) => {
      const [limit, seq] = states[i] ?? [];
      if (limit == null || Number(seq ?? 0) < (highest.get(i) ?? 0)) bad.add(item);
    });
    return [...bad];
  }

  /** The workers' check (start-up, every tick): reconciles the damaged items; null when none is. */
  async ifLost(): Promise<SeckillReconcileReport | null> {
    const damaged = await this.damaged();
    if (!damaged.length) return null;
    this.s.d.log.warn(
      { items: damaged.map((i) => `${i.sessionId}/${i.skuId}`) },
      "seckill items lost Redis data: rebuilding them from PostgreSQL",
    );
    return this.reconcile(damaged, false);
  }

  /** Operators: every live item (or a session's) is rebuilt from PostgreSQL, damaged or not. */
  async run(sessionId?: string | null): Promise<SeckillReconcileReport> {
    return this.reconcile(await this.liveItems(sessionId ?? undefined), true);
  }

  private async reconcile(items: ItemRow[], strict: boolean): Promise<SeckillReconcileReport> {
    const total = { ...EMPTY };
    for (const item of items) {
      const r = await this.item(item, strict);
      if (!r) continue;
      for (const key of Object.keys(total) as Array<keyof SeckillReconcileReport>) total[key] += r[key];
    }
    if (total.items) {
      const log = total.lost ? this.s.d.log.error.bind(this.s.d.log) : this.s.d.log.warn.bind(this.s.d.log);
      log(
        { ...total },
        `seckill reconciliation: ${total.items} item(s) rebuilt from PostgreSQL, ${total.copiedFromRedis} reservation(s) copied from Redis first, ${total.lost} lost`,
      );
      counted("promotion", "rebuilt").inc(total.items);
      counted("promotion", "copied").inc(total.copiedFromRedis);
      counted("promotion", "lost").inc(total.lost);
    }
    return total;
  }

  /** One item, under its lock (another reconciliation of it running: skipped, or refused for operators). */
  private async item(item: ItemRow, strict: boolean): Promise<SeckillReconcileReport | null> {
    const ref: ItemRef = this.s.remember(item);
    const keys = Array.from({ length: item.shards }, (_, n) => this.s.keys(ref, n));
    const lock = defined(keys[0], "shard 0 of the item").reconcile;
    const token = randomUUID();
    if ((await this.s.d.redis.set(lock, token, "PX", 120_000, "NX")) !== "OK") {
      if (strict) throw new AppError(PromotionErrorCode.INVALID_STATE, `a reconciliation of ${item.sessionId}/${item.skuId} is running`);
      return null;
    }
    try {
      // 1. fence
      await Promise.all(keys.map((k) => this.s.d.redis.hset(k.meta, "status", "RECONCILING")));
      if (this.graceMs > 0) await new Promise((r) => setTimeout(r, this.graceMs));
      // 2. what Redis still has goes to PostgreSQL first
      const found: ReservationSnapshot[] = [];
      const holds: string[][] = [];
      const seqs: number[] = [];
      for (const k of keys) {
        for (const e of parseEntries(await this.s.d.redis.xrange(k.stream, "-", "+"))) {
          const r = snapshotOf(e.fields);
          if (r) found.push(r);
        }
        const listed = [...(await this.s.d.redis.zrange(k.pending, 0, -1)), ...(await this.s.d.redis.zrange(k.ordered, 0, -1))];
        for (const id of listed) {
          const uuid = id.split(".")[2] ?? "";
          const r = snapshotOf(await this.s.d.redis.hgetall(k.reservation(uuid)));
          if (r) found.push(r);
        }
        holds.push(await this.s.d.redis.zrange(k.holds, 0, -1));
        seqs.push(Number((await this.s.d.redis.get(k.seq)) ?? 0));
      }
      const copiedFromRedis = await this.copy.write(found);
      // 3. the state from the copies
      const copies = await this.copy.ofItem(item.sessionId, item.skuId);
      const live = (r: ReservationSnapshot) => r.status === "PENDING" || r.status === "ORDERED";
      const parts = splitStock(item.stock, item.shards);
      const used = parts.map(() => 0);
      for (const r of copies) if (live(r)) used[r.stockShard] = (used[r.stockShard] ?? 0) + r.quantity;
      const left = spread(parts, used);
      // 4. gaps in each shard's numbers
      let lost = 0;
      const topSeq = keys.map((_, n) => {
        const mine = copies.filter((r) => r.home === n && r.seq > 0).map((r) => r.seq);
        const top = Math.max(seqs[n] ?? 0, ...mine, 0);
        lost += top - new Set(mine).size;
        return top;
      });
      // 5. write each shard and lift its fence
      const now = Date.now();
      const ttlMs = (this.s.d.idempotencyTtlSeconds ?? 24 * 3600) * 1000;
      const status = item.session.status === "ONLINE" ? "ONLINE" : item.session.status;
      for (const [n, k] of keys.entries()) {
        const mine = copies.filter((r) => r.home === n);
        const m = this.s.d.redis.multi();
        m.del(k.pending, k.ordered, k.holds, k.takes, k.takesAt, k.bought, k.returned);
        for (const id of holds[n] ?? []) m.del(k.reservation(id.split(".")[2] ?? ""));
        const bought = new Map<string, number>();
        let open = 0;
        for (const r of mine) {
          const key = k.reservation(r.id.split(".")[2] ?? "");
          m.del(key);
          m.hset(key, hashOf(r));
          if (live(r)) bought.set(r.buyerId, (bought.get(r.buyerId) ?? 0) + r.quantity);
          if (!r.settled) open++;
          if (r.settled) m.expire(key, SETTLED_RETENTION_SECONDS);
          if (r.status === "PENDING") {
            m.zadd(k.pending, r.createdMs, r.id);
            m.xadd(k.stream, "*", ...Object.entries(hashOf(r)).flat());
          }
          if (r.status === "ORDERED" && !r.settled) m.zadd(k.ordered, now, r.id);
          if (r.idemKey && r.createdMs + ttlMs > now) m.set(r.idemKey, r.id, "PX", r.createdMs + ttlMs - now);
        }
        if (bought.size) m.hset(k.bought, Object.fromEntries(bought));
        m.set(k.open, open);
        m.set(k.stock, left[n] ?? 0);
        m.set(k.seq, topSeq[n] ?? 0);
        m.hset(k.meta, {
          status,
          startsMs: item.session.startsAt.getTime(),
          endsMs: item.session.endsAt.getTime(),
          limit: item.perUserLimit,
          price: formatAmount(item.seckillPrice, item.currency),
          currency: item.currency,
          shards: item.shards,
          sessionId: item.sessionId,
          skuId: item.skuId,
          shard: n,
        });
        const failed = ((await m.exec()) ?? []).find(([err]) => err);
        if (failed) throw failed[0];
      }
      const report: SeckillReconcileReport = {
        items: 1,
        reservations: copies.length,
        copiedFromRedis,
        lost,
        remainingStock: left.reduce((a, b) => a + b, 0),
        heldStock: used.reduce((a, b) => a + b, 0),
      };
      this.s.d.log.info({ sessionId: item.sessionId, skuId: item.skuId, ...report }, "seckill item rebuilt from PostgreSQL");
      return report;
    } finally {
      await this.release(lock, token).catch(() => undefined);
    }
  }
}

/**
 * Stock left per shard: each shard's part minus what live reservations took from it. A shard can owe
 * more than its part (stock a cancellation gave back to a home shard was sold again there); what it
 * owes is taken from the others, so the item's total is exact and no shard is below zero.
 */
export function spread(parts: number[], used: number[]): number[] {
  const left = parts.map((p, i) => p - (used[i] ?? 0));
  let owed = left.reduce((s, v) => s + (v < 0 ? -v : 0), 0);
  const out = left.map((v) => Math.max(0, v));
  for (let i = 0; i < out.length && owed > 0; i++) {
    const take = Math.min(out[i] ?? 0, owed);
    out[i] = (out[i] ?? 0) - take;
    owed -= take;
  }
  return out;
}
