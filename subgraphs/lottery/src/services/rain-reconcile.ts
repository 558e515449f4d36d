/**
 * Reconciliation of red-envelope rains after Redis lost data (decision 0032, docs/redis-data.md).
 * Redis holds the first copy of a rain's shares and grabs; PostgreSQL a copy of every grab within a
 * second or two (rain-stream.ts) and the rain's total. When Redis comes back without (some of) a
 * rain's data, it is rebuilt from PostgreSQL:
 *
 *   1. fence: grabs answer NOT_ONLINE (meta status RECONCILING); a short grace lets grabs in flight finish;
 *   2. what Redis still holds — the grabs hash, the stream — is recorded in PostgreSQL first
 *      (counted: `copiedFromRedis`);
 *   3. from PostgreSQL: the grabs (each member's share: grabbing again answers ALREADY_GRABBED, so no
 *      envelope is paid twice), and what is left — total − grabbed, over shares − grabs — split again
 *      at random into the shard lists (grabbed + left = total, to the minor unit); uncredited grabs go
 *      to the stream again (credited once: the wallet reference);
 *   4. grab numbers (seq) missing from PostgreSQL and Redis are counted as `lost` (log line, metric
 *      `mg_redis_reconcile_total{kind="lost"}`): grabs made and lost before they were copied;
 *   5. one MULTI writes the rain and lifts the fence; the delayed close job is added again (BullMQ's
 *      data lives in the same Redis).
 * A rain whose Redis state still adds up and holds every recorded grab is not re-split (only unfenced).
 * What cannot be known: grabs of the last moment before the loss that had not reached PostgreSQL yet
 * (after the highest number copied) — with AOF `everysec`, none on a Redis process crash.
 *
 * Runs: operators (`adminReconcileRedEnvelopeRains`, audited); the workers at start-up and every few
 * seconds for rains whose meta is missing or whose grab counter is behind PostgreSQL; closing a rain
 * first (a close never reads a damaged rain).
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { bound, reconciliations } from "@mallgraph/platform/metrics";
import { Decimal } from "@mallgraph/platform/money";
import { lockReleaser } from "@mallgraph/platform/redis";
import { parseEntries } from "@mallgraph/platform/streams";
import type { RedEnvelopeRain } from "../generated/prisma/client.ts";
import type { RainGrabs } from "./rain-grab.ts";
import { toMinor, type CreditGrabJob, type RainContext } from "./rain-shared.ts";
import { cryptoRandomInt, splitShares } from "./split.ts";

export interface RainReconcileReport {
  /** Rains whose Redis state was rebuilt (re-split or only unfenced). */
  rains: number;
  /** Grabs of those rains in PostgreSQL. */
  grabs: number;
  /** Grabs Redis had that PostgreSQL had not yet: recorded before the rebuild. */
  copiedFromRedis: number;
  /** Grab numbers found neither in Redis nor in PostgreSQL. */
  lost: number;
  /** Shares left in Redis over those rains. */
  remainingShares: number;
}

const EMPTY: RainReconcileReport = { rains: 0, grabs: 0, copiedFromRedis: 0, lost: 0, remainingShares: 0 };
const counted = bound(reconciliations);
type Grab = CreditGrabJob & { seq: number | null };

export class RainReconciliation {
  private readonly release: (key: string, token: string) => Promise<number>;

  constructor(
    private readonly c: RainContext,
    private readonly grabs: RainGrabs,
    /** Pause between fencing a rain and reading it (grabs in flight finish; ms). */
    private readonly graceMs = 1000,
  ) {
    this.release = lockReleaser(c.d.redis);
  }

  /** Open rains (not closed) a part of whose Redis state is missing or behind PostgreSQL. */
  async damaged(rainIds?: string[]): Promise<RedEnvelopeRain[]> {
    const { prisma, redis } = this.c.d;
    const rains = await prisma.redEnvelopeRain.findMany({ where: { closedAt: null, ...(rainIds ? { id: { in: rainIds } } : {}) } });
    if (!rains.length) return [];
    const top = await prisma.redEnvelopeGrab.groupBy({
      by: ["rainId"],
      where: { rainId: { in: rains.map((r) => r.id) } },
      _max: { seq: true },
    });
    const highest = new Map(top.map((t) => [t.rainId, t._max.seq ?? 0]));
    const metas = await Promise.all(rains.map((r) => redis.hmget(this.c.keys.meta(r.id), "shards", "seq")));
    return rains.filter((r, i) => {
      const [shards, seq] = metas[i] ?? [];
      return shards == null || Number(seq ?? 0) < (highest.get(r.id) ?? 0);
    });
  }

  /** The workers' check: damaged rains rebuilt; null when none is. */
  async ifLost(): Promise<RainReconcileReport | null> {
    const damaged = await this.damaged();
    if (!damaged.length) return null;
    this.c.d.log.warn({ rains: damaged.map((r) => r.id) }, "red-envelope rains lost Redis data: rebuilding them from PostgreSQL");
    return this.reconcile(damaged, false);
  }

  /** Before a close: a damaged rain is rebuilt first (a rebuild of it already running: INVALID_STATE, the close is retried). */
  async beforeClose(rainId: string): Promise<void> {
    const damaged = await this.damaged([rainId]);
    if (damaged.length) await this.reconcile(damaged, true);
  }

  /** Operators: every open rain (or one) rebuilt from PostgreSQL, damaged or not. */
  async run(rainId?: string | null): Promise<RainReconcileReport> {
    const rains = await this.c.d.prisma.redEnvelopeRain.findMany({ where: { closedAt: null, ...(rainId ? { id: rainId } : {}) } });
    return this.reconcile(rains, true);
  }

  private async reconcile(rains: RedEnvelopeRain[], strict: boolean): Promise<RainReconcileReport> {
    const total = { ...EMPTY };
    for (const rain of rains) {
      const r = await this.rain(rain, strict);
      if (!r) continue;
      for (const key of Object.keys(total) as Array<keyof RainReconcileReport>) total[key] += r[key];
    }
    if (total.rains) {
      const { log } = this.c.d;
      (total.lost ? log.error.bind(log) : log.warn.bind(log))(
        { ...total },
        `red-envelope reconciliation: ${total.rains} rain(s) rebuilt from PostgreSQL, ${total.copiedFromRedis} grab(s) copied from Redis first, ${total.lost} lost`,
      );
      counted("lottery", "rebuilt").inc(total.rains);
      counted("lottery", "copied").inc(total.copiedFromRedis);
      counted("lottery", "lost").inc(total.lost);
    }
    return total;
  }

  private async rain(rain: RedEnvelopeRain, strict: boolean): Promise<RainReconcileReport | null> {
    const { d, keys } = this.c;
    const { redis } = d;
    const lock = keys.reconcile(rain.id);
    const token = randomUUID();
    if ((await redis.set(lock, token, "PX", 120_000, "NX")) !== "OK") {
      if (strict) throw new AppError(ErrorCode.CONFLICT, `a reconciliation of rain ${rain.id} is running`);
      return null;
    }
    try {
      const meta = keys.meta(rain.id);
      const [status] = await redis.hmget(meta, "status");
      // 1. fence
      await redis.hset(meta, "status", "RECONCILING");
      if (this.graceMs > 0) await new Promise((r) => setTimeout(r, this.graceMs));
      // 2. what Redis still has goes to PostgreSQL first
      const [held, seqText, remainingText] = await redis.hmget(meta, "shards", "seq", "remaining");
      const inRedis = await redis.hgetall(keys.grabs(rain.id));
      const found: Grab[] = Object.entries(inRedis).map(([memberId, v]) => {
        const [minor, at, seq] = v.split(":");
        const g: Grab = { rainId: rain.id, memberId, amountMinor: Number(minor), currency: rain.currency, atMs: Number(at), seq: null };
        if (seq) g.seq = Number(seq);
        return g;
      });
      for (const e of parseEntries(await redis.xrange(keys.stream(rain.id), "-", "+")))
        found.push({
          rainId: rain.id,
          memberId: e.fields.memberId ?? "",
          amountMinor: Number(e.fields.minor),
          currency: rain.currency,
          atMs: Number(e.fields.at),
          seq: e.fields.seq ? Number(e.fields.seq) : null,
        });
      const copiedFromRedis = await this.grabs.copy(found.filter((g) => g.memberId && Number.isInteger(g.amountMinor)));
      // 3. the rain from PostgreSQL
      const rows = await d.prisma.redEnvelopeGrab.findMany({ where: { rainId: rain.id } });
      const totalMinor = toMinor(new Decimal(rain.totalAmount.toString()), rain.currency);
      const minorOf = (amount: { toString(): string }) => toMinor(new Decimal(amount.toString()), rain.currency);
      const grabbedMinor = rows.reduce((s, g) => s + minorOf(g.amount), 0);
      const leftShares = Math.max(0, rain.shares - rows.length);
      const leftMinor = totalMinor - grabbedMinor;
      // 4. gaps in the numbers
      const seqs = rows.flatMap((g) => (g.seq ? [g.seq] : []));
      const topSeq = Math.max(Number(seqText ?? 0), ...seqs, 0);
      const lost = topSeq - new Set(seqs).size;
      // a Redis that still adds up and holds every recorded grab keeps its shares
      const lists = keys.shards(rain.id, rain.shards);
      let inLists = 0;
      for (const key of lists) for (const v of await redis.lrange(key, 0, -1)) inLists += Number(v);
      const sound =
        held != null && Number(remainingText) === leftShares && inLists === leftMinor && rows.every((g) => inRedis[g.memberId] != null);
      const m = redis.multi();
      if (!sound) {
        if (leftMinor < leftShares || (leftShares === 0 && leftMinor !== 0))
          d.log.error(
            { rainId: rain.id, leftMinor, leftShares },
            "red-envelope rain does not add up in PostgreSQL; rebuilt with what is left",
          );
        const shares =
          leftShares > 0 && leftMinor > 0 ? splitShares(leftMinor, Math.min(leftShares, leftMinor), d.random ?? cryptoRandomInt) : [];
        m.del(keys.grabs(rain.id), ...lists);
        m.hset(meta, {
          startsAt: rain.startsAt.getTime(),
          endsAt: rain.endsAt.getTime(),
          remaining: shares.length,
          shards: rain.shards,
          currency: rain.currency,
          grabbedMinor,
          seq: topSeq,
        });
        const members: Record<string, string> = {};
        for (const g of rows) members[g.memberId] = `${minorOf(g.amount)}:${g.grabbedAt.getTime()}:${g.seq ?? 0}`;
        if (rows.length) m.hset(keys.grabs(rain.id), members);
        lists.forEach((key, s) => {
          const mine = shares.filter((_, i) => i % rain.shards === s);
          for (let i = 0; i < mine.length; i += 1000) m.rpush(key, ...mine.slice(i, i + 1000));
        });
      }
      // uncredited grabs go to the stream again: credited once (the wallet's reference)
      for (const g of rows.filter((r) => !r.creditedAt))
        m.xadd(
          keys.stream(rain.id),
          "*",
          "rainId",
          rain.id,
          "memberId",
          g.memberId,
          "minor",
          minorOf(g.amount),
          "at",
          g.grabbedAt.getTime(),
          "seq",
          g.seq ?? 0,
          "currency",
          rain.currency,
        );
      m.hset(meta, "status", status === "CLOSED" ? "CLOSED" : "ONLINE");
      const failed = ((await m.exec()) ?? []).find(([err]) => err);
      if (failed) throw failed[0];
      // BullMQ lives in the same Redis: the delayed close may be gone with it (same jobId: a no-op when it is there)
      await d.queue.add(
        "close-rain",
        { rainId: rain.id },
        { jobId: `close-${rain.id}`, delay: Math.max(0, rain.endsAt.getTime() - this.c.now()), attempts: 20 },
      );
      const report: RainReconcileReport = {
        rains: 1,
        grabs: rows.length,
        copiedFromRedis,
        lost,
        remainingShares: sound ? leftShares : Math.min(leftShares, Math.max(0, leftMinor)),
      };
      d.log.info({ rainId: rain.id, resplit: !sound, ...report }, "red-envelope rain reconciled with PostgreSQL");
      return report;
    } finally {
      await this.release(lock, token).catch(() => undefined);
    }
  }
}
