/**
 * Creating a red-envelope rain, a durable workflow (packages/platform/src/workflow.ts, decision
 * 0031) — the hand-written try/catch it replaces undid nothing when the process died midway:
 *
 *   freeze        → member marketingBudgetFreeze (reference rain:<rainId>)   ⟲ marketingBudgetRelease
 *   arm           → the shares pushed to the shard lists (not grabbable yet:
 *                   a rain without its meta hash answers NOT_ONLINE)            ⟲ the rain's keys deleted
 *   scheduleClose → the delayed close-rain job (jobId close-<rainId>)           ⟲ the job removed
 *   persist       → the rain's row — the PIVOT (local: the run recorded in that transaction)
 *   open          → the meta hash written once (openRain-meta.lua): grabs begin
 *
 * The run is recorded before the freeze. A run that died before persist is undone by the lottery
 * worker's sweep (each compensation is a no-op for a step that never ran); past it the sweep opens
 * the rain (a rain persisted but not opened also looks damaged to the Redis reconciliation, which
 * rebuilds it from PostgreSQL: whichever comes first, the other leaves the meta alone). The random
 * split lives only in the running process: a recovery never arms, it undoes the arming.
 */
import { defineLua } from "@mallgraph/platform/redis";
import { WorkflowAbort, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import type { Prisma } from "../generated/prisma/client.ts";
import { budgetRef, type RainContext } from "../services/rain-shared.ts";

type Tx = Prisma.TransactionClient;

export interface CreateRainState {
  rainId: string;
  title: string;
  currency: string;
  /** The total as stored (toFixed) and as the wallet takes it (formatted). */
  totalAmount: string;
  totalText: string;
  shares: number;
  shards: number;
  /** ISO-8601. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  /** The random split in minor units (the running process only; not recorded). */
  split?: number[];
}

export const createRainRunId = (rainId: string) => `createRain:${rainId}`;

/** What the wallet answers to a release that finds nothing (left) to release: nothing to undo. */
const RELEASED = new Set(["OK", "NO_FREEZE", "ALREADY_SETTLED"]);

export function createRainWorkflow(c: RainContext): WorkflowDefinition<CreateRainState, Tx> {
  const { keys } = c;
  const openLua = defineLua<Array<string | number>, number>(
    c.d.redis,
    "lotteryOpenRain",
    new URL("../lua/openRain-meta.lua", import.meta.url),
    1,
  );
  const rainKeys = (s: CreateRainState) => [keys.meta(s.rainId), keys.grabs(s.rainId), ...keys.shards(s.rainId, s.shards)];
  return {
    name: "createRain",
    pivot: "persist",
    encode: ({ split: _split, ...recorded }) => recorded,
    steps: [
      {
        id: "freeze",
        // a timed-out freeze may have frozen: release (a no-op when nothing is frozen) in that case too
        compensateOnError: true,
        async invoke(s) {
          const budget = await c.d.wallet.freezeBudget(s.currency, s.totalText, budgetRef(s.rainId));
          if (budget.code === "INSUFFICIENT_BALANCE") throw new WorkflowAbort("INSUFFICIENT_BALANCE");
          if (budget.code !== "OK") throw new Error(`marketingBudgetFreeze answered ${budget.code}`);
        },
        async compensate(s) {
          const r = await c.d.wallet.releaseBudget(s.currency, s.totalText, budgetRef(s.rainId));
          if (!RELEASED.has(r.code)) throw new Error(`marketingBudgetRelease answered ${r.code}`);
        },
      },
      {
        id: "arm",
        compensateOnError: true,
        async invoke(s) {
          const split = s.split;
          if (!split) throw new Error(`the shares of rain ${s.rainId} are not known to this process`);
          const multi = c.d.redis.multi();
          const lists = keys.shards(s.rainId, s.shards);
          multi.del(...lists);
          lists.forEach((key, shard) => {
            const mine = split.filter((_, i) => i % s.shards === shard);
            for (let i = 0; i < mine.length; i += 1000) multi.rpush(key, ...mine.slice(i, i + 1000));
          });
          const results = await multi.exec();
          const failed = results?.find(([err]) => err);
          if (!results || failed) throw failed?.[0] ?? new Error("red-envelope shares were not stored");
        },
        async compensate(s) {
          await c.d.redis.del(...rainKeys(s));
        },
      },
      {
        id: "scheduleClose",
        async invoke(s) {
          await c.d.queue.add(
            "close-rain",
            { rainId: s.rainId },
            { jobId: `close-${s.rainId}`, delay: Math.max(0, new Date(s.endsAt).getTime() - c.now()), attempts: 20 },
          );
        },
        async compensate(s) {
          await c.d.queue.remove(`close-${s.rainId}`);
        },
      },
      {
        id: "persist",
        local: true,
        async invoke(s, ctx) {
          await ctx.transact((tx) =>
            tx.redEnvelopeRain.create({
              data: {
                id: s.rainId,
                title: s.title,
                currency: s.currency,
                totalAmount: s.totalAmount,
                shares: s.shares,
                shards: s.shards,
                startsAt: new Date(s.startsAt),
                endsAt: new Date(s.endsAt),
                createdBy: s.createdBy,
              },
            }),
          );
        },
      },
      {
        id: "open",
        async invoke(s) {
          await openLua(
            keys.meta(s.rainId),
            "status",
            "ONLINE",
            "startsAt",
            new Date(s.startsAt).getTime(),
            "endsAt",
            new Date(s.endsAt).getTime(),
            "remaining",
            s.shares,
            "shards",
            s.shards,
            "currency",
            s.currency,
          );
        },
      },
    ],
  };
}
