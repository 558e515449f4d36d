/** Creating a rain: validation, the random split, the budget frozen in MARKETING, the shares armed in Redis, the close scheduled. */
import { AppError, badInput } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { LotteryErrorCode } from "../errors.ts";
import type { RainReads } from "./rain-reads.ts";
import {
  MAX_SHARDS,
  MAX_SHARES,
  SHARES_PER_SHARD,
  budgetRef,
  toMinor,
  type RainContext,
  type RainInput,
  type RainView,
} from "./rain-shared.ts";
import { splitShares, cryptoRandomInt, MAX_MINOR_TOTAL } from "./split.ts";

function parseTime(value: string, field: string): Date {
  const d = new Date(value);
  if (typeof value !== "string" || Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
}

export class RainCreation {
  constructor(
    private readonly c: RainContext,
    private readonly reads: RainReads,
  ) {}

  /** Validates, splits, stores the campaign (PostgreSQL) and its shares (Redis), schedules the close. */
  async create(input: RainInput, operatorId: string): Promise<RainView> {
    const { d, keys } = this.c;
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
    if (endsAt.getTime() <= this.c.now()) throw badInput("endsAt is in the past", { field: "endsAt" });

    const shares = splitShares(totalMinor, input.shares, d.random ?? cryptoRandomInt);
    const shards = Math.min(MAX_SHARDS, Math.ceil(input.shares / SHARES_PER_SHARD));
    const rain = await d.prisma.redEnvelopeRain.create({
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
      const budget = await d.wallet.freezeBudget(input.currency, totalText, budgetRef(rain.id));
      if (budget.code === "INSUFFICIENT_BALANCE")
        throw new AppError(LotteryErrorCode.INSUFFICIENT_BALANCE, `the marketing account holds less than ${totalText} ${input.currency}`, {
          field: "totalAmount",
        });
      if (budget.code !== "OK") throw new Error(`marketingBudgetFreeze answered ${budget.code}`);
      funded = true;
      const multi = d.redis.multi();
      multi.hset(keys.meta(rain.id), {
        status: "ONLINE",
        startsAt: startsAt.getTime(),
        endsAt: endsAt.getTime(),
        remaining: input.shares,
        shards,
        currency: input.currency,
      });
      keys.shards(rain.id, shards).forEach((key, s) => {
        const mine = shares.filter((_, i) => i % shards === s);
        for (let i = 0; i < mine.length; i += 1000) multi.rpush(key, ...mine.slice(i, i + 1000));
      });
      const results = await multi.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error("red-envelope shares were not stored");
      await d.queue.add(
        "close-rain",
        { rainId: rain.id },
        { jobId: `close-${rain.id}`, delay: Math.max(0, endsAt.getTime() - this.c.now()), attempts: 20 },
      );
    } catch (e) {
      // Compensation: nothing of a rain that could not be armed stays behind (its budget goes back).
      await d.redis.del(keys.meta(rain.id), keys.grabs(rain.id), ...keys.shards(rain.id, shards)).catch(() => undefined);
      if (funded) await d.wallet.releaseBudget(input.currency, totalText, budgetRef(rain.id));
      await d.prisma.redEnvelopeRain.delete({ where: { id: rain.id } }).catch(() => undefined);
      throw e;
    }
    return this.reads.view(rain);
  }
}
