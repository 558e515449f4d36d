/**
 * Red-envelope rain: an operator's campaign splits a total into random shares (split.ts) kept in
 * Redis lists spread over N shards; members grab with one Lua script (grabEnvelope-rain.lua); a
 * BullMQ job credits each grab to the member's wallet and records it in PostgreSQL; a delayed job
 * at endsAt closes the rain and records what is left so that grabbed + refund = total exactly.
 *
 * The money comes from member's MARKETING account (decision 0019): creating a rain freezes its total
 * there (reference `rain:<rainId>`; refused with INSUFFICIENT_BALANCE when the budget is short), each
 * grab is a transfer from that freeze to the member (`rain:<rainId>:<memberId>`, once), and closing
 * releases the rest (`refundAmount`) back to MARKETING, once.
 *
 * Keys (one hash tag `{lottery}`, so one Redis Cluster slot and one Lua call may touch them all):
 *   <prefix>:{lottery}:rain:<id>            meta hash
 *   <prefix>:{lottery}:rain:<id>:grabs      memberId -> "<minor>:<atMs>"
 *   <prefix>:{lottery}:rain:<id>:shard:<i>  share lists
 *   <prefix>:{lottery}:rain:<id>:event:<e>  live event payloads (5 minutes)
 * Trade-off: one slot means one cluster node serves a rain; the shards spread list contention and
 * keep each LPOP O(1), not load across nodes. A rain too hot for one node would use one hash tag
 * per shard with the member set partitioned by the same member hash (no cross-shard dedupe needed).
 */
import { createHash, randomUUID } from "node:crypto";
import { AppError, ErrorCode, badInput, notFound, defined } from "@mallgraph/platform/errors";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import { Decimal, currencyDecimals, formatAmount, parseAmount } from "@mallgraph/platform/money";
import type { Queue } from "@mallgraph/platform/queue";
import { defineLua, keyFor, type KeyFn, type Redis } from "@mallgraph/platform/redis";
import { GRAB_LUA_CODES, type GrabCode } from "../errors.ts";
import { Prisma, type PrismaClient, type RedEnvelopeRain } from "../generated/prisma/client.ts";
import { redEnvelopeReceivedMessage } from "./messages.ts";
import type { WalletPort } from "./ports.ts";
import { splitShares, cryptoRandomInt, MAX_MINOR_TOTAL, type RandomInt } from "./split.ts";

export const MAX_SHARES = 1_000_000;
export const MAX_SHARDS = 16;
const SHARES_PER_SHARD = 500;
const KEY_TTL_AFTER_CLOSE_S = 7 * 24 * 3600;
const EVENT_TTL_S = 300;

export interface RainInput {
  title: string;
  totalAmount: string;
  currency: string;
  shares: number;
  startsAt: string;
  endsAt: string;
}

export interface GrabResult {
  code: GrabCode;
  amount: string | null;
  currency: string | null;
}

export interface RainEventPayload {
  rainId: string;
  remainingShares: number;
  lastGrab: { amount: string; memberId: string; at: string } | null;
}

export interface CreditGrabJob {
  rainId: string;
  memberId: string;
  amountMinor: number;
  currency: string;
  atMs: number;
}

export type RainStatus = "SCHEDULED" | "ONLINE" | "ENDED" | "CLOSED";

export interface RainView extends RedEnvelopeRain {
  status: RainStatus;
  remainingShares: number;
}

function toMinor(amount: Decimal, currency: string): number {
  return amount.times(new Decimal(10).pow(currencyDecimals(currency))).toNumber();
}

export function fromMinor(minor: number | string, currency: string): Decimal {
  return new Decimal(minor.toString()).div(new Decimal(10).pow(currencyDecimals(currency)));
}

/** The wallet reference of a rain's budget freeze (and of its release). */
const budgetRef = (rainId: string) => `rain:${rainId}`;

function parseTime(value: string, field: string): Date {
  const d = new Date(value);
  if (typeof value !== "string" || Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
}

export interface RainServiceDeps {
  prisma: PrismaClient;
  redis: Redis;
  redisPrefix: string;
  queue: Queue;
  wallet: WalletPort;
  log: Logger;
  /** Coalescing window of live events per rain (ms). */
  eventWindowMs?: number;
  random?: RandomInt;
  now?: () => number;
}

export class RainService {
  private readonly k: KeyFn;
  private readonly grabLua: (...args: Array<string | number>) => Promise<[number, number, number]>;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  now: () => number;

  constructor(private readonly d: RainServiceDeps) {
    this.k = keyFor(d.redisPrefix, "lottery");
    this.grabLua = defineLua<Array<string | number>, [number, number, number]>(
      d.redis,
      "lotteryGrabEnvelope",
      new URL("../lua/grabEnvelope-rain.lua", import.meta.url),
      undefined,
    ); // key count passed per call
    this.now = d.now ?? Date.now;
  }

  private metaKey(id: string) {
    return this.k("rain", id);
  }
  private grabsKey(id: string) {
    return this.k("rain", id, "grabs");
  }
  private shardKeys(id: string, shards: number) {
    return Array.from({ length: shards }, (_, i) => this.k("rain", id, "shard", i));
  }

  /** Validates, splits, stores the campaign (PostgreSQL) and its shares (Redis), schedules the close. */
  async create(input: RainInput, operatorId: string): Promise<RainView> {
    const title = input.title?.trim();
    if (!title) throw badInput("title must not be empty", { field: "title" });
    if (title.length > 100) throw badInput("title is longer than 100 characters", { field: "title" });
    const total = parseAmount(input.totalAmount, input.currency, { field: "totalAmount" });
    const totalMinor = toMinor(total, input.currency);
    if (totalMinor > MAX_MINOR_TOTAL) throw badInput("totalAmount is too large", { field: "totalAmount" });
    if (!Number.isInteger(input.shares) || input.shares < 1) throw badInput("shares must be a positive integer", { field: "shares" });
    if (input.shares > MAX_SHARES) throw badInput(`shares must not exceed ${MAX_SHARES}`, { field: "shares" });
    if (input.shares > totalMinor)
      throw badInput("more shares than minor units in totalAmount (each share needs at least one)", { field: "shares" });
    const startsAt = parseTime(input.startsAt, "startsAt");
    const endsAt = parseTime(input.endsAt, "endsAt");
    if (endsAt <= startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    if (endsAt.getTime() <= this.now()) throw badInput("endsAt is in the past", { field: "endsAt" });

    const shares = splitShares(totalMinor, input.shares, this.d.random ?? cryptoRandomInt);
    const shards = Math.min(MAX_SHARDS, Math.ceil(input.shares / SHARES_PER_SHARD));
    const rain = await this.d.prisma.redEnvelopeRain.create({
      data: {
        title,
        currency: input.currency,
        totalAmount: total.toFixed(),
        shares: input.shares,
        shards,
        startsAt,
        endsAt,
        createdBy: operatorId,
      },
    });
    const totalText = formatAmount(total, input.currency);
    let funded = false;
    try {
      const budget = await this.d.wallet.freezeBudget(input.currency, totalText, budgetRef(rain.id));
      if (budget.code === "INSUFFICIENT_BALANCE")
        throw new AppError(ErrorCode.INSUFFICIENT_BALANCE, `the marketing account holds less than ${totalText} ${input.currency}`, {
          field: "totalAmount",
        });
      if (budget.code !== "OK") throw new Error(`marketingBudgetFreeze answered ${budget.code}`);
      funded = true;
      const keys = this.shardKeys(rain.id, shards);
      const multi = this.d.redis.multi();
      multi.hset(this.metaKey(rain.id), {
        status: "ONLINE",
        startsAt: startsAt.getTime(),
        endsAt: endsAt.getTime(),
        remaining: input.shares,
        shards,
        currency: input.currency,
      });
      keys.forEach((key, s) => {
        const mine = shares.filter((_, i) => i % shards === s);
        for (let i = 0; i < mine.length; i += 1000) multi.rpush(key, ...mine.slice(i, i + 1000));
      });
      const results = await multi.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error("red-envelope shares were not stored");
      await this.d.queue.add(
        "close-rain",
        { rainId: rain.id },
        { jobId: `close-${rain.id}`, delay: Math.max(0, endsAt.getTime() - this.now()), attempts: 20 },
      );
    } catch (e) {
      // Compensation: nothing of a rain that could not be armed stays behind (its budget goes back).
      await this.d.redis.del(this.metaKey(rain.id), this.grabsKey(rain.id), ...this.shardKeys(rain.id, shards)).catch(() => undefined);
      if (funded) await this.d.wallet.releaseBudget(input.currency, totalText, budgetRef(rain.id));
      await this.d.prisma.redEnvelopeRain.delete({ where: { id: rain.id } }).catch(() => undefined);
      throw e;
    }
    return this.view(rain);
  }

  async get(id: string): Promise<RainView | null> {
    const rain = await this.d.prisma.redEnvelopeRain.findUnique({ where: { id } });
    return rain ? this.view(rain) : null;
  }

  /** The stored rain with its status; while it runs, grabbedAmount and grabbedCount are live (Redis). */
  async view(rain: RedEnvelopeRain): Promise<RainView> {
    const now = this.now();
    const status: RainStatus = rain.closedAt
      ? "CLOSED"
      : now < rain.startsAt.getTime()
        ? "SCHEDULED"
        : now < rain.endsAt.getTime()
          ? "ONLINE"
          : "ENDED";
    if (rain.closedAt) return { ...rain, status, remainingShares: rain.shares - (rain.grabbedCount ?? 0) };
    const [remaining, grabbedMinor] = await this.d.redis.hmget(this.metaKey(rain.id), "remaining", "grabbedMinor");
    const left = Number(remaining ?? 0);
    const grabbed = new Prisma.Decimal(fromMinor(grabbedMinor ?? 0, rain.currency).toFixed());
    return { ...rain, status, remainingShares: left, grabbedAmount: grabbed, grabbedCount: rain.shares - left };
  }

  /** One grab (one Lua call); an OK grab is handed to the credit job and announced live. */
  async grab(rainId: string, memberId: string): Promise<GrabResult> {
    if (!rainId || rainId.length > 64) return { code: "NOT_ONLINE", amount: null, currency: null };
    const [shardCount, currency] = await this.d.redis.hmget(this.metaKey(rainId), "shards", "currency");
    const shards = Number(shardCount);
    if (!shards || !currency) return { code: "NOT_ONLINE", amount: null, currency: null };
    const startShard = createHash("sha1").update(memberId).digest().readUInt32BE(0) % shards;
    const now = this.now();
    const keys = [this.metaKey(rainId), this.grabsKey(rainId), ...this.shardKeys(rainId, shards)];
    const [n, minor] = await this.grabLua(keys.length, ...keys, memberId, now, startShard);
    const code = defined(GRAB_LUA_CODES[n], `grab script answer ${n}`);
    if (code === "OK") {
      const job: CreditGrabJob = { rainId, memberId, amountMinor: minor, currency, atMs: now };
      await this.d.queue.add("credit-grab", job, {
        jobId: `grab-${rainId}-${memberId}`,
        attempts: 30,
        backoff: { type: "exponential", delay: 1000 },
      });
      this.announce(rainId);
    }
    if (code === "OK" || code === "ALREADY_GRABBED") return { code, amount: formatAmount(fromMinor(minor, currency), currency), currency };
    return { code, amount: null, currency: null };
  }

  /** The credit job: records the grab (unique per rain + member), then credits the wallet once. */
  async creditGrab(job: CreditGrabJob): Promise<"CREDITED" | "ALREADY_CREDITED"> {
    const amount = fromMinor(job.amountMinor, job.currency);
    await this.d.prisma.redEnvelopeGrab.createMany({
      data: [
        { rainId: job.rainId, memberId: job.memberId, amount: amount.toFixed(), currency: job.currency, grabbedAt: new Date(job.atMs) },
      ],
      skipDuplicates: true,
    });
    const row = await this.d.prisma.redEnvelopeGrab.findUniqueOrThrow({
      where: { rainId_memberId: { rainId: job.rainId, memberId: job.memberId } },
    });
    if (row.creditedAt) return "ALREADY_CREDITED";
    const r = await this.d.wallet.credit(
      job.memberId,
      row.currency,
      formatAmount(row.amount, row.currency),
      `rain:${job.rainId}:${job.memberId}`,
    );
    if (r.code !== "OK") throw new Error(`marketingGrant answered ${r.code}`); // retried by BullMQ
    await this.d.prisma.$transaction(async (tx) => {
      const first = await tx.redEnvelopeGrab.updateMany({ where: { id: row.id, creditedAt: null }, data: { creditedAt: new Date() } });
      if (first.count === 1)
        await redEnvelopeReceivedMessage(tx, {
          rainId: job.rainId,
          memberId: job.memberId,
          amount: formatAmount(row.amount, row.currency),
          currency: row.currency,
        });
    });
    return "CREDITED";
  }

  /**
   * Closes a rain (idempotent): no grab passes the Lua script afterwards; every grab in Redis is
   * recorded (and its credit enqueued again if not yet credited — the wallet reference makes it
   * once-only); grabbedAmount + refundAmount = totalAmount is stored.
   */
  async close(rainId: string): Promise<RainView> {
    const rain = await this.d.prisma.redEnvelopeRain.findUnique({ where: { id: rainId } });
    if (!rain) throw notFound("red-envelope rain", rainId);
    if (rain.closedAt) return this.view(rain);
    const meta = this.metaKey(rainId);
    await this.d.redis.hset(meta, "status", "CLOSED");
    const grabs = await this.d.redis.hgetall(this.grabsKey(rainId));
    const shardKeys = this.shardKeys(rainId, rain.shards);
    let leftMinor = 0;
    for (const key of shardKeys) for (const v of await this.d.redis.lrange(key, 0, -1)) leftMinor += Number(v);
    const rows = Object.entries(grabs).map(([memberId, v]) => {
      const [minor, at] = v.split(":");
      return { memberId, minor: Number(minor), atMs: Number(at) };
    });
    const grabbedMinor = rows.reduce((s, r) => s + r.minor, 0);
    const totalMinor = toMinor(new Decimal(rain.totalAmount.toString()), rain.currency);
    if (grabbedMinor + leftMinor !== totalMinor)
      this.d.log.error({ rainId, grabbedMinor, leftMinor, totalMinor }, "red-envelope rain does not add up");
    for (let i = 0; i < rows.length; i += 1000) {
      await this.d.prisma.redEnvelopeGrab.createMany({
        data: rows.slice(i, i + 1000).map((r) => ({
          rainId,
          memberId: r.memberId,
          amount: fromMinor(r.minor, rain.currency).toFixed(),
          currency: rain.currency,
          grabbedAt: new Date(r.atMs),
        })),
        skipDuplicates: true,
      });
    }
    const uncredited = await this.d.prisma.redEnvelopeGrab.findMany({
      where: { rainId, creditedAt: null },
      select: { memberId: true, amount: true, grabbedAt: true },
    });
    if (uncredited.length)
      await this.d.queue.addBulk(
        uncredited.map((g) => ({
          name: "credit-grab",
          data: {
            rainId,
            memberId: g.memberId,
            amountMinor: toMinor(new Decimal(g.amount.toString()), rain.currency),
            currency: rain.currency,
            atMs: g.grabbedAt.getTime(),
          } satisfies CreditGrabJob,
          opts: { jobId: `grab-close-${rainId}-${g.memberId}`, attempts: 30, backoff: { type: "exponential", delay: 1000 } },
        })),
      );
    const grabbed = fromMinor(grabbedMinor, rain.currency);
    const rest = new Decimal(rain.totalAmount.toString()).minus(grabbed);
    // The rest of the budget goes back to MARKETING (once per rain; a retried close releases nothing twice).
    if (rest.greaterThan(0)) {
      const back = await this.d.wallet.releaseBudget(rain.currency, formatAmount(rest, rain.currency), budgetRef(rainId));
      if (back.code !== "OK") throw new Error(`marketingBudgetRelease answered ${back.code}`);
    }
    await this.d.prisma.redEnvelopeRain.updateMany({
      where: { id: rainId, closedAt: null },
      data: { closedAt: new Date(), grabbedAmount: grabbed.toFixed(), grabbedCount: rows.length, refundAmount: rest.toFixed() },
    });
    for (const key of [meta, this.grabsKey(rainId), ...shardKeys]) await this.d.redis.expire(key, KEY_TTL_AFTER_CLOSE_S);
    this.announce(rainId);
    return defined(await this.get(rainId), `rain ${rainId}`);
  }

  /** Re-enqueues credits of recorded but uncredited grabs (a repeatable sweep; crash recovery). */
  async sweep(): Promise<number> {
    const rows = await this.d.prisma.redEnvelopeGrab.findMany({
      where: { creditedAt: null, grabbedAt: { lt: new Date(this.now() - 60_000) } },
      take: 1000,
    });
    for (const g of rows)
      await this.d.queue.add(
        "credit-grab",
        {
          rainId: g.rainId,
          memberId: g.memberId,
          amountMinor: toMinor(new Decimal(g.amount.toString()), g.currency),
          currency: g.currency,
          atMs: g.grabbedAt.getTime(),
        },
        {
          jobId: `grab-sweep-${g.rainId}-${g.memberId}-${Math.floor(this.now() / 600_000)}`,
          attempts: 30,
          backoff: { type: "exponential", delay: 1000 },
        },
      );
    return rows.length;
  }

  // ------------------------------------------------------------------ live events

  /**
   * Coalesced: the first grab of a window arms a timer; when it fires, one event carries the rain's
   * state at that moment (remaining shares, last grab). At most one event per rain per window per
   * instance, and the last grab of a burst is always announced.
   */
  private announce(rainId: string): void {
    if (this.pending.has(rainId)) return;
    const t = setTimeout(() => {
      this.pending.delete(rainId);
      this.publish(rainId).catch((e) => this.d.log.warn({ err: e, rainId }, "red-envelope event not published"));
    }, this.d.eventWindowMs ?? 250);
    this.pending.set(rainId, t);
  }

  async publish(rainId: string): Promise<string> {
    const m = await this.d.redis.hmget(this.metaKey(rainId), "remaining", "lastAmount", "lastMember", "lastAt", "currency");
    const [remaining, lastAmount, lastMember, lastAt, currency] = m;
    const payload: RainEventPayload = {
      rainId,
      remainingShares: Number(remaining ?? 0),
      lastGrab:
        lastAmount && currency && lastMember
          ? {
              amount: formatAmount(fromMinor(lastAmount, currency), currency),
              memberId: lastMember,
              at: new Date(Number(lastAt)).toISOString(),
            }
          : null,
    };
    const eventId = randomUUID();
    await this.d.redis.set(this.k("rain", rainId, "event", eventId), JSON.stringify(payload), "EX", EVENT_TTL_S);
    await publishLiveEvent(this.d.redis, this.d.redisPrefix, "redEnvelopeRain", { eventId, keys: { rainId } });
    return eventId;
  }

  async event(rainId: string, eventId: string): Promise<RainEventPayload | null> {
    const raw = await this.d.redis.get(this.k("rain", rainId, "event", eventId));
    return raw ? (JSON.parse(raw) as RainEventPayload) : null;
  }

  /** Publishes what is pending at once (shutdown). */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const [, t] of this.pending) clearTimeout(t);
    this.pending.clear();
    await Promise.all(ids.map((id) => this.publish(id).catch(() => undefined)));
  }
}
