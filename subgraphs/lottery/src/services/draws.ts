/**
 * Draws. A draw is:
 *   1. a participation order, created in one transaction with the quota it takes (total / month /
 *      day, one conditional UPDATE) and unique per (member, activity, idempotency key): the same key
 *      gives the same order and the same result;
 *   2. the draw itself, a pure function of the order: its random number is derived from the order
 *      id (HMAC), so a replay after a crash draws the same slot;
 *      - rules before the draw, a chain: blacklist (fixed consolation award, ends the draw) →
 *        weight (points spent ≥ a threshold: only that rule's subset of awards) → default (all);
 *      - one O(1) lookup in the strategy's table (table.ts);
 *      - rules after the draw, a tree: lock (award unlocks after N draws by the member) → stock
 *        (takeStock-award.lua: atomic, idempotent per order, never below zero) → fallback award
 *        when locked or out of stock;
 *   3. the win recorded on the order (only once), and the award handed to the `distribute-award`
 *      job (delivery.ts: retried with backoff, FAILED past its budget); stock changes are synced to
 *      PostgreSQL by `sync-stock`.
 */
import { createHmac, randomUUID } from "node:crypto";
import { dayOf, monthOf } from "@mallgraph/platform/days";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput, notFound, defined } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import type { Queue } from "@mallgraph/platform/queue";
import { defineLua, entityKeyFor, keyFor, type KeyFn, type Redis } from "@mallgraph/platform/redis";
import { DrawCode } from "../errors.ts";
import {
  Prisma,
  type PrismaClient,
  type Award,
  type Strategy,
  type Activity,
  type ParticipationOrder,
} from "../generated/prisma/client.ts";
import type { AwardDelivery } from "./delivery.ts";
import type { PointsService } from "./points.ts";
import { buildTable, drawFrom, type LookupTable } from "./table.ts";

/** Armed strategies are reloaded after this long (operators' changes reach every instance). */
const ARM_TTL_MS = 30_000;

export interface WeightRule {
  minPointsSpent: number;
  awardIds: string[];
}

/** An award of the armed strategy: every id a strategy or its table names is one of its awards. */
function awardOf(armed: ArmedStrategy, id: string): Award {
  return defined(armed.awards.get(id), `award ${id} of strategy ${armed.strategy.id}`);
}

export interface ArmedStrategy {
  strategy: Strategy;
  awards: Map<string, Award>;
  table: LookupTable;
  /** Weight rules, highest threshold first, each with its own table. */
  weights: Array<WeightRule & { table: LookupTable }>;
}

export interface DrawOutcome {
  code: DrawCode;
  award: Award | null;
  orderId: string | null;
  rule?: string;
}

export interface DrawServiceDeps {
  prisma: PrismaClient;
  redis: Redis;
  redisPrefix: string;
  queue: Queue;
  points: PointsService;
  delivery: AwardDelivery;
  secret: string;
  log: Logger;
  now?: () => number;
}

export class DrawService {
  private readonly k: KeyFn;
  private readonly takeStockLua: (...args: Array<string | number>) => Promise<[number, number]>;
  private readonly armed = new Map<string, { p: Promise<ArmedStrategy>; at: number }>();
  now: () => number;

  constructor(private readonly d: DrawServiceDeps) {
    this.k = keyFor(d.redisPrefix, "lottery");
    this.takeStockLua = defineLua<Array<string | number>, [number, number]>(
      d.redis,
      "lotteryTakeStock",
      new URL("../lua/takeStock-award.lua", import.meta.url),
      2,
    );
    this.now = d.now ?? Date.now;
  }

  stockKey(awardId: string) {
    return entityKeyFor(this.d.redisPrefix, "lottery", "award", awardId)("stock");
  }
  private holdersKey(awardId: string) {
    return entityKeyFor(this.d.redisPrefix, "lottery", "award", awardId)("orders");
  }

  /**
   * Loads a strategy, checks its rates, builds its tables and puts award stock into Redis when the
   * counter is missing (SET NX: a live counter is never overwritten).
   */
  arm(strategyId: string): Promise<ArmedStrategy> {
    const hit = this.armed.get(strategyId);
    if (hit && hit.at > this.now() - ARM_TTL_MS) return hit.p;
    const p = this.load(strategyId);
    this.armed.set(strategyId, { p, at: this.now() });
    p.catch(() => this.armed.delete(strategyId));
    return p;
  }

  /** Forgets armed strategies (after an operator changes one). */
  disarm(strategyId?: string) {
    if (strategyId) this.armed.delete(strategyId);
    else this.armed.clear();
  }

  private async load(strategyId: string): Promise<ArmedStrategy> {
    const strategy = await this.d.prisma.strategy.findUnique({
      where: { id: strategyId },
      include: { awards: { orderBy: { sortOrder: "asc" } } },
    });
    if (!strategy) throw notFound("strategy", strategyId);
    const awards = new Map(strategy.awards.map((a) => [a.id, a]));
    if (!awards.has(strategy.fallbackAwardId)) throw badInput("the fallback award must belong to the strategy");
    const table = buildTable(strategy.awards);
    const weights = ((strategy.weightRules ?? []) as unknown as WeightRule[])
      .map((w) => {
        const subset = w.awardIds.map((id) => awards.get(id));
        if (subset.some((a) => !a)) throw badInput("a weight rule names an award of another strategy");
        return { ...w, table: buildTable(subset as Award[]) };
      })
      .sort((a, b) => b.minPointsSpent - a.minPointsSpent);
    for (const a of strategy.awards) {
      if (a.stockTotal < 0 || (await this.d.redis.exists(this.stockKey(a.id)))) continue;
      // Missing in Redis (first arm, or Redis lost it): the truth is total − wins recorded in
      // PostgreSQL (a unit taken but not yet recorded is lost: under-issue, never over-issue).
      const won = await this.d.prisma.participationOrder.count({ where: { awardId: a.id } });
      await this.d.redis.set(this.stockKey(a.id), Math.max(0, a.stockTotal - won), "NX");
    }
    const { awards: _omit, ...bare } = strategy;
    return { strategy: bare as Strategy, awards, table, weights };
  }

  /** Whether draws can be made now (state and dates). */
  isOnline(activity: Activity): boolean {
    const now = this.now();
    return activity.state === "ONLINE" && now >= activity.startsAt.getTime() && now < activity.endsAt.getTime();
  }

  async activity(id: string): Promise<Activity | null> {
    return this.d.prisma.activity.findUnique({ where: { id } });
  }

  /** A new participation order with its quota taken (the caller looked for an existing one first). */
  private async participate(activity: Activity, memberId: string, key: string): Promise<ParticipationOrder | "QUOTA_EXCEEDED"> {
    const now = this.now();
    const day = dayOf(now);
    const month = monthOf(now);
    try {
      await this.d.prisma.quotaAccount.createMany({ data: [{ activityId: activity.id, memberId }], skipDuplicates: true });
      // One statement, so atomic without an interactive transaction (none to wait for under a storm):
      // a conditional UPDATE (row-locked) takes the regular quota when it has room, else a bonus
      // draw, and the order is inserted from its result — a duplicate key undoes both.
      const regular = Prisma.sql`(${activity.quotaTotal}::int = 0 OR "totalUsed" < ${activity.quotaTotal}::int)
          AND (${activity.quotaMonth}::int = 0 OR "month" <> ${month} OR "monthUsed" < ${activity.quotaMonth}::int)
          AND (${activity.quotaDay}::int = 0 OR "day" <> ${day} OR "dayUsed" < ${activity.quotaDay}::int)`;
      const rows = await this.d.prisma.$queryRaw<ParticipationOrder[]>`
        WITH q AS (
          UPDATE "QuotaAccount" SET
            "bonus" = CASE WHEN ${regular} THEN "bonus" ELSE "bonus" - 1 END,
            "totalUsed" = "totalUsed" + 1,
            "monthUsed" = CASE WHEN "month" = ${month} THEN "monthUsed" + 1 ELSE 1 END, "month" = ${month},
            "dayUsed" = CASE WHEN "day" = ${day} THEN "dayUsed" + 1 ELSE 1 END, "day" = ${day}
          WHERE "activityId" = ${activity.id} AND "memberId" = ${memberId} AND ((${regular}) OR "bonus" > 0)
          RETURNING "totalUsed")
        INSERT INTO "ParticipationOrder" ("id", "activityId", "memberId", "idempotencyKey", "seq")
        SELECT ${randomUUID()}, ${activity.id}, ${memberId}, ${key}, "totalUsed" FROM q
        RETURNING *`;
      return rows[0] ?? "QUOTA_EXCEEDED";
    } catch (e) {
      // The same key raced in parallel: the other request's order (and its quota) stands.
      if (isUniqueViolation(e))
        return this.d.prisma.participationOrder.findUniqueOrThrow({
          where: { memberId_activityId_idempotencyKey: { memberId, activityId: activity.id, idempotencyKey: key } },
        });
      throw e;
    }
  }

  /** The order's random number in [0, 1), derived from its id (replays draw the same slot). */
  private randomOf(orderId: string): number {
    const h = createHmac("sha256", this.d.secret).update(`draw:${orderId}`).digest();
    return h.readUIntBE(0, 6) / 2 ** 48;
  }

  async draw(memberId: string, activityId: string, idempotencyKey: string): Promise<DrawOutcome> {
    if (!idempotencyKey || idempotencyKey.length > 100)
      throw badInput("idempotencyKey must be 1 to 100 characters", { field: "idempotencyKey" });
    const activity = await this.activity(activityId);
    if (!activity) throw notFound("activity", activityId);
    const prior = await this.d.prisma.participationOrder.findUnique({
      where: { memberId_activityId_idempotencyKey: { memberId, activityId, idempotencyKey } },
    });
    if (prior?.awardId) return this.outcomeOf(activity, prior);
    if (!prior && !this.isOnline(activity)) return { code: DrawCode.NOT_ONLINE, award: null, orderId: null };
    if (!prior && !(await this.withinLimit(activity))) return { code: DrawCode.RATE_LIMITED, award: null, orderId: null };
    const armed = await this.arm(activity.strategyId);
    const order = prior ?? (await this.participate(activity, memberId, idempotencyKey));
    if (order === "QUOTA_EXCEEDED") return { code: DrawCode.QUOTA_EXCEEDED, award: null, orderId: null };
    if (order.awardId) return this.outcomeOf(activity, order);

    const { award, rule, tookStock } = activity.degraded ? this.degradedOutcome(armed) : await this.decide(armed, memberId, order);
    const n = await this.d.prisma.participationOrder.updateMany({
      where: { id: order.id, awardId: null },
      data: { awardId: award.id, awardName: award.name, rule },
    });
    if (n.count === 0) {
      // A parallel replay of this order recorded first (it drew the same slot).
      return this.outcomeOf(activity, await this.d.prisma.participationOrder.findUniqueOrThrow({ where: { id: order.id } }));
    }
    await this.d.delivery.enqueue(order.id, order.id);
    if (tookStock)
      await this.d.queue.add(
        "sync-stock",
        { awardId: award.id },
        { jobId: `stock-${award.id}-${Math.floor(this.now() / 1000)}`, delay: 1000, removeOnComplete: true, removeOnFail: true },
      );
    return { code: DrawCode.OK, award, orderId: order.id, rule };
  }

  /**
   * The per-activity limit (draws per second over all instances): one Redis counter per activity and
   * second. The activity is read on every draw, so a changed limit or degrade switch holds at once.
   */
  private async withinLimit(activity: Activity): Promise<boolean> {
    if (activity.drawsPerSecond <= 0) return true;
    const key = this.k("activity", activity.id, "rate", Math.floor(this.now() / 1000));
    const [[, n]] = (await this.d.redis.multi().incr(key).expire(key, 2).exec()) as [[Error | null, number]];
    return n <= activity.drawsPerSecond;
  }

  /** Degraded activity: the fallback award, no rule, no stock touched. */
  private degradedOutcome(armed: ArmedStrategy): { award: Award; rule: string; tookStock: boolean } {
    return { award: awardOf(armed, armed.strategy.fallbackAwardId), rule: "degraded", tookStock: false };
  }

  private async outcomeOf(activity: Activity, order: ParticipationOrder): Promise<DrawOutcome> {
    const armed = await this.arm(activity.strategyId);
    return {
      code: DrawCode.OK,
      award: order.awardId ? (armed.awards.get(order.awardId) ?? null) : null,
      orderId: order.id,
      rule: order.rule ?? undefined,
    };
  }

  /** Rules before (chain), the table lookup, rules after (tree). */
  async decide(
    armed: ArmedStrategy,
    memberId: string,
    order: Pick<ParticipationOrder, "id" | "seq">,
  ): Promise<{ award: Award; rule: string; tookStock: boolean }> {
    const s = armed.strategy;
    // Chain 1: blacklist.
    if (s.blacklistAwardId) {
      const listed = await this.d.prisma.strategyBlacklist.findUnique({ where: { strategyId_memberId: { strategyId: s.id, memberId } } });
      if (listed) return { award: awardOf(armed, s.blacklistAwardId), rule: "blacklist", tookStock: false };
    }
    // Chain 2: weight; 3: default.
    let table = armed.table;
    let rule = "default";
    if (armed.weights.length) {
      const spent = (await this.d.points.account(memberId)).spent;
      const w = armed.weights.find((x) => spent >= x.minPointsSpent);
      if (w) {
        table = w.table;
        rule = `weight:${w.minPointsSpent}`;
      }
    }
    const drawn = awardOf(armed, drawFrom(table, this.randomOf(order.id)));
    const fallback = awardOf(armed, s.fallbackAwardId);
    if (drawn.id === fallback.id) return { award: drawn, rule, tookStock: false };
    // Tree: lock → stock → fallback.
    if (drawn.lockAfterDraws > 0 && order.seq <= drawn.lockAfterDraws) return { award: fallback, rule: `${rule}>lock`, tookStock: false };
    if (drawn.stockTotal >= 0) {
      let [taken] = await this.takeStockLua(this.stockKey(drawn.id), this.holdersKey(drawn.id), order.id);
      if (taken === -1) {
        // Not armed (Redis lost the key): re-arm from the database's synced copy, then retry once.
        this.disarm(s.id);
        await this.arm(s.id);
        [taken] = await this.takeStockLua(this.stockKey(drawn.id), this.holdersKey(drawn.id), order.id);
      }
      if (taken !== 1) return { award: fallback, rule: `${rule}>stock`, tookStock: false };
      return { award: drawn, rule: `${rule}>stock`, tookStock: true };
    }
    return { award: drawn, rule, tookStock: false };
  }

  /** Job: copies an award's live Redis stock to PostgreSQL (only ever downwards). */
  async syncStock(awardId: string): Promise<number | null> {
    const v = await this.d.redis.get(this.stockKey(awardId));
    if (v === null) return null;
    const stock = Number(v);
    await this.d.prisma.award.updateMany({ where: { id: awardId, stock: { gt: stock } }, data: { stock } });
    return stock;
  }

  async quota(activity: Activity, memberId: string) {
    const acc = await this.d.prisma.quotaAccount.findUnique({ where: { activityId_memberId: { activityId: activity.id, memberId } } });
    const now = this.now();
    return {
      total: activity.quotaTotal,
      month: activity.quotaMonth,
      day: activity.quotaDay,
      usedTotal: acc?.totalUsed ?? 0,
      usedMonth: acc && acc.month === monthOf(now) ? acc.monthUsed : 0,
      usedDay: acc && acc.day === dayOf(now) ? acc.dayUsed : 0,
      bonus: acc?.bonus ?? 0,
    };
  }
}
