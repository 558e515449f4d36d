/** Closing a rain: no grab passes afterwards, every grab is recorded and credited, the rest of the budget goes back. */
import { defined, notFound } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import type { RainEvents } from "./rain-events.ts";
import type { RainReads } from "./rain-reads.ts";
import {
  CREDIT_JOB_OPTIONS,
  KEY_TTL_AFTER_CLOSE_S,
  budgetRef,
  fromMinor,
  toMinor,
  type CreditGrabJob,
  type RainContext,
  type RainView,
} from "./rain-shared.ts";

export class RainClosing {
  constructor(
    private readonly c: RainContext,
    private readonly reads: RainReads,
    private readonly events: RainEvents,
  ) {}

  /**
   * Closes a rain (idempotent): no grab passes the Lua script afterwards; every grab in Redis is
   * recorded (and its credit enqueued again if not yet credited — the wallet reference makes it
   * once-only); grabbedAmount + refundAmount = totalAmount is stored.
   */
  async close(rainId: string): Promise<RainView> {
    const { d, keys } = this.c;
    const rain = await d.prisma.redEnvelopeRain.findUnique({ where: { id: rainId } });
    if (!rain) throw notFound("red-envelope rain", rainId);
    if (rain.closedAt) return this.reads.view(rain);
    const meta = keys.meta(rainId);
    await d.redis.hset(meta, "status", "CLOSED");
    const grabs = await d.redis.hgetall(keys.grabs(rainId));
    const shardKeys = keys.shards(rainId, rain.shards);
    let leftMinor = 0;
    for (const key of shardKeys) for (const v of await d.redis.lrange(key, 0, -1)) leftMinor += Number(v);
    const rows = Object.entries(grabs).map(([memberId, v]) => {
      const [minor, at] = v.split(":");
      return { memberId, minor: Number(minor), atMs: Number(at) };
    });
    const grabbedMinor = rows.reduce((s, r) => s + r.minor, 0);
    const totalMinor = toMinor(new Decimal(rain.totalAmount.toString()), rain.currency);
    if (grabbedMinor + leftMinor !== totalMinor)
      d.log.error({ rainId, grabbedMinor, leftMinor, totalMinor }, "red-envelope rain does not add up");
    for (let i = 0; i < rows.length; i += 1000) {
      await d.prisma.redEnvelopeGrab.createMany({
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
    const uncredited = await d.prisma.redEnvelopeGrab.findMany({
      where: { rainId, creditedAt: null },
      select: { memberId: true, amount: true, grabbedAt: true },
    });
    if (uncredited.length)
      await d.queue.addBulk(
        uncredited.map((g) => ({
          name: "credit-grab",
          data: {
            rainId,
            memberId: g.memberId,
            amountMinor: toMinor(new Decimal(g.amount.toString()), rain.currency),
            currency: rain.currency,
            atMs: g.grabbedAt.getTime(),
          } satisfies CreditGrabJob,
          opts: { jobId: `grab-close-${rainId}-${g.memberId}`, ...CREDIT_JOB_OPTIONS },
        })),
      );
    const grabbed = fromMinor(grabbedMinor, rain.currency);
    const rest = new Decimal(rain.totalAmount.toString()).minus(grabbed);
    // The rest of the budget goes back to MARKETING (once per rain; a retried close releases nothing twice).
    if (rest.greaterThan(0)) {
      const back = await d.wallet.releaseBudget(rain.currency, formatAmount(rest, rain.currency), budgetRef(rainId));
      if (back.code !== "OK") throw new Error(`marketingBudgetRelease answered ${back.code}`);
    }
    await d.prisma.redEnvelopeRain.updateMany({
      where: { id: rainId, closedAt: null },
      data: { closedAt: new Date(), grabbedAmount: grabbed.toFixed(), grabbedCount: rows.length, refundAmount: rest.toFixed() },
    });
    // the stream too: a grab still in it is recorded already (the sweep credits it)
    for (const key of [meta, keys.grabs(rainId), keys.stream(rainId), ...shardKeys]) await d.redis.expire(key, KEY_TTL_AFTER_CLOSE_S);
    this.events.announce(rainId);
    return defined(await this.reads.get(rainId), `rain ${rainId}`);
  }
}
