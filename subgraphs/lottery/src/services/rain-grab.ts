/**
 * Grabbing: one Lua call takes a share and hands the grab over through the rain's stream (decision
 * 0032); the stream's consumer (rain-stream.ts) records the grabs in PostgreSQL and credits each
 * wallet once; a sweep re-enqueues credits of stragglers as credit jobs.
 */
import { createHash } from "node:crypto";
import { defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { defineLua } from "@mallgraph/platform/redis";
import { GRAB_LUA_CODES } from "../errors.ts";
import { redEnvelopeReceivedMessage } from "./messages.ts";
import type { RainEvents } from "./rain-events.ts";
import { CREDIT_JOB_OPTIONS, fromMinor, toMinor, type CreditGrabJob, type GrabResult, type RainContext } from "./rain-shared.ts";

/** A recorded grab, as its credit needs it. */
type GrabRow = { id: string; rainId: string; memberId: string; amount: { toString(): string }; currency: string; creditedAt: Date | null };

export class RainGrabs {
  private readonly grabLua: (...args: Array<string | number>) => Promise<[number, number, number]>;
  /** A rain's shard count and currency never change: read once per process (not per grab). */
  private readonly layout = new Map<string, { shards: number; currency: string }>();

  constructor(
    private readonly c: RainContext,
    private readonly events: RainEvents,
  ) {
    this.grabLua = defineLua<Array<string | number>, [number, number, number]>(
      c.d.redis,
      "lotteryGrabEnvelope",
      new URL("../lua/grabEnvelope-rain.lua", import.meta.url),
      undefined,
    ); // key count passed per call
  }

  private async layoutOf(rainId: string): Promise<{ shards: number; currency: string } | null> {
    const hit = this.layout.get(rainId);
    if (hit) return hit;
    const [shardCount, currency] = await this.c.d.redis.hmget(this.c.keys.meta(rainId), "shards", "currency");
    const shards = Number(shardCount);
    if (!shards || !currency) return null;
    if (this.layout.size >= 1000) this.layout.clear();
    this.layout.set(rainId, { shards, currency });
    return { shards, currency };
  }

  /** One grab: one Lua call (after the rain's layout was read once), which also hands it to the stream; an OK grab is announced live. */
  async grab(rainId: string, memberId: string): Promise<GrabResult> {
    const { keys } = this.c;
    if (!rainId || rainId.length > 64) return { code: "NOT_ONLINE", amount: null, currency: null };
    const layout = await this.layoutOf(rainId);
    if (!layout) return { code: "NOT_ONLINE", amount: null, currency: null };
    const { shards, currency } = layout;
    const startShard = createHash("sha1").update(memberId).digest().readUInt32BE(0) % shards;
    const now = this.c.now();
    const all = [keys.meta(rainId), keys.grabs(rainId), keys.stream(rainId), ...keys.shards(rainId, shards)];
    const [n, minor] = await this.grabLua(all.length, ...all, memberId, now, startShard, rainId);
    const code = defined(GRAB_LUA_CODES[n], `grab script answer ${n}`);
    if (code === "OK") this.events.announce(rainId);
    if (code === "OK" || code === "ALREADY_GRABBED") return { code, amount: formatAmount(fromMinor(minor, currency), currency), currency };
    return { code, amount: null, currency: null };
  }

  /** The credit job (sweep, close): records the grab (unique per rain + member), then credits the wallet once. */
  async creditGrab(job: CreditGrabJob): Promise<"CREDITED" | "ALREADY_CREDITED"> {
    const [row] = await this.record([{ ...job, seq: null }]);
    return this.credit(defined(row, `grab ${job.rainId}/${job.memberId}`));
  }

  /**
   * Records grabs in PostgreSQL (one statement; a grab recorded before keeps its row) and answers
   * their rows, in the order given.
   */
  async record(grabs: Array<CreditGrabJob & { seq: number | null }>): Promise<GrabRow[]> {
    if (!grabs.length) return [];
    await this.copy(grabs);
    const rows = await this.c.d.prisma.redEnvelopeGrab.findMany({
      where: { OR: grabs.map((g) => ({ rainId: g.rainId, memberId: g.memberId })) },
    });
    const by = new Map(rows.map((r) => [`${r.rainId}\n${r.memberId}`, r]));
    return grabs.map((g) => defined(by.get(`${g.rainId}\n${g.memberId}`), `grab ${g.rainId}/${g.memberId}`));
  }

  /** Writes grabs to PostgreSQL (a grab recorded before keeps its row); answers how many were not there. */
  async copy(grabs: Array<CreditGrabJob & { seq: number | null }>): Promise<number> {
    if (!grabs.length) return 0;
    const { count } = await this.c.d.prisma.redEnvelopeGrab.createMany({
      data: grabs.map((g) => ({
        rainId: g.rainId,
        memberId: g.memberId,
        amount: fromMinor(g.amountMinor, g.currency).toFixed(),
        currency: g.currency,
        grabbedAt: new Date(g.atMs),
        seq: g.seq,
      })),
      skipDuplicates: true,
    });
    return count;
  }

  /** Credits a recorded grab's wallet once (the wallet's reference makes a repeat a no-op) and tells the member once. */
  async credit(row: GrabRow): Promise<"CREDITED" | "ALREADY_CREDITED"> {
    const { prisma, wallet } = this.c.d;
    if (row.creditedAt) return "ALREADY_CREDITED";
    const r = await wallet.credit(row.memberId, row.currency, formatAmount(row.amount, row.currency), `rain:${row.rainId}:${row.memberId}`);
    if (r.code !== "OK") throw new Error(`marketingGrant answered ${r.code}`); // retried (the job, or the stream entry)
    await prisma.$transaction(async (tx) => {
      const first = await tx.redEnvelopeGrab.updateMany({ where: { id: row.id, creditedAt: null }, data: { creditedAt: new Date() } });
      if (first.count === 1)
        await redEnvelopeReceivedMessage(tx, {
          rainId: row.rainId,
          memberId: row.memberId,
          amount: formatAmount(row.amount, row.currency),
          currency: row.currency,
        });
    });
    return "CREDITED";
  }

  /** Re-enqueues credits of recorded but uncredited grabs (a repeatable sweep; crash recovery). */
  async sweep(): Promise<number> {
    const { prisma, queue } = this.c.d;
    const rows = await prisma.redEnvelopeGrab.findMany({
      where: { creditedAt: null, grabbedAt: { lt: new Date(this.c.now() - 60_000) } },
      take: 1000,
    });
    for (const g of rows)
      await queue.add(
        "credit-grab",
        {
          rainId: g.rainId,
          memberId: g.memberId,
          amountMinor: toMinor(new Decimal(g.amount.toString()), g.currency),
          currency: g.currency,
          atMs: g.grabbedAt.getTime(),
        } satisfies CreditGrabJob,
        { jobId: `grab-sweep-${g.rainId}-${g.memberId}-${Math.floor(this.c.now() / 600_000)}`, ...CREDIT_JOB_OPTIONS },
      );
    return rows.length;
  }
}
