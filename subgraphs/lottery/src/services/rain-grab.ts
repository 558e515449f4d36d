/** Grabbing: one Lua call takes a share; a credit job records the grab and credits the wallet once; a sweep re-enqueues stragglers. */
import { createHash } from "node:crypto";
import { defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { defineLua } from "@mallgraph/platform/redis";
import { GRAB_LUA_CODES } from "../errors.ts";
import { redEnvelopeReceivedMessage } from "./messages.ts";
import type { RainEvents } from "./rain-events.ts";
import { CREDIT_JOB_OPTIONS, fromMinor, toMinor, type CreditGrabJob, type GrabResult, type RainContext } from "./rain-shared.ts";

export class RainGrabs {
  private readonly grabLua: (...args: Array<string | number>) => Promise<[number, number, number]>;

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

  /** One grab (one Lua call); an OK grab is handed to the credit job and announced live. */
  async grab(rainId: string, memberId: string): Promise<GrabResult> {
    const { d, keys } = this.c;
    if (!rainId || rainId.length > 64) return { code: "NOT_ONLINE", amount: null, currency: null };
    const [shardCount, currency] = await d.redis.hmget(keys.meta(rainId), "shards", "currency");
    const shards = Number(shardCount);
    if (!shards || !currency) return { code: "NOT_ONLINE", amount: null, currency: null };
    const startShard = createHash("sha1").update(memberId).digest().readUInt32BE(0) % shards;
    const now = this.c.now();
    const all = [keys.meta(rainId), keys.grabs(rainId), ...keys.shards(rainId, shards)];
    const [n, minor] = await this.grabLua(all.length, ...all, memberId, now, startShard);
    const code = defined(GRAB_LUA_CODES[n], `grab script answer ${n}`);
    if (code === "OK") {
      const job: CreditGrabJob = { rainId, memberId, amountMinor: minor, currency, atMs: now };
      await d.queue.add("credit-grab", job, { jobId: `grab-${rainId}-${memberId}`, ...CREDIT_JOB_OPTIONS });
      this.events.announce(rainId);
    }
    if (code === "OK" || code === "ALREADY_GRABBED") return { code, amount: formatAmount(fromMinor(minor, currency), currency), currency };
    return { code, amount: null, currency: null };
  }

  /** The credit job: records the grab (unique per rain + member), then credits the wallet once. */
  async creditGrab(job: CreditGrabJob): Promise<"CREDITED" | "ALREADY_CREDITED"> {
    const { prisma, wallet } = this.c.d;
    const amount = fromMinor(job.amountMinor, job.currency);
    await prisma.redEnvelopeGrab.createMany({
      data: [
        { rainId: job.rainId, memberId: job.memberId, amount: amount.toFixed(), currency: job.currency, grabbedAt: new Date(job.atMs) },
      ],
      skipDuplicates: true,
    });
    const row = await prisma.redEnvelopeGrab.findUniqueOrThrow({
      where: { rainId_memberId: { rainId: job.rainId, memberId: job.memberId } },
    });
    if (row.creditedAt) return "ALREADY_CREDITED";
    const r = await wallet.credit(job.memberId, row.currency, formatAmount(row.amount, row.currency), `rain:${job.rainId}:${job.memberId}`);
    if (r.code !== "OK") throw new Error(`marketingGrant answered ${r.code}`); // retried by BullMQ
    await prisma.$transaction(async (tx) => {
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
