/**
 * Creating a seckill session: the items' stock leaves catalog first, all or nothing, then the
 * session is stored. A durable workflow (packages/platform/src/workflow.ts, decision 0031): the run
 * is recorded before the allocation and completed in persist's transaction (the pivot); a run whose
 * process died before it is compensated by the worker's sweep. Compensations run in reverse:
 *
 * | step     | invoke                                                  | compensation                                   |
 * |----------|---------------------------------------------------------|------------------------------------------------|
 * | allocate | catalog inventoryReserve(key "seckill:<sid>", all lines) | inventoryRelease(key); when it was confirmed   |
 * |          |                                                         | already: inventoryReturn per line              |
 * | confirm  | inventoryConfirm(key): reserved → sold (no TTL expiry)  | (allocate's compensation covers it)            |
 * | persist  | one transaction: session + items                        | delete the session                             |
 */
import type { Logger } from "@mallgraph/platform/log";
import { WorkflowAbort, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { CatalogPort } from "../services/ports.ts";

export interface CreateSessionState {
  sessionId: string;
  title: string;
  startsAt: Date;
  endsAt: Date;
  createdBy: string | null;
  items: Array<{
    skuId: string;
    title: string;
    seckillPrice: string;
    currency: string;
    stock: number;
    perUserLimit: number;
    shards: number;
  }>;
}

export interface CreateSessionDeps {
  prisma: PrismaClient;
  catalog: CatalogPort;
  log: Logger;
}

/** Time the catalog reservation may live between reserve and confirm. */
const ALLOCATION_TTL_SECONDS = 900;

export const allocationKey = (sessionId: string) => `seckill:${sessionId}`;

type Tx = Prisma.TransactionClient;

export const createSessionRunId = (sessionId: string) => `createSeckillSession:${sessionId}`;

export function createSessionWorkflow(deps: CreateSessionDeps): WorkflowDefinition<CreateSessionState, Tx> {
  return {
    name: "createSeckillSession",
    pivot: "persist",
    decode: (json) => {
      const s = json as Omit<CreateSessionState, "startsAt" | "endsAt"> & { startsAt: string; endsAt: string };
      return { ...s, startsAt: new Date(s.startsAt), endsAt: new Date(s.endsAt) };
    },
    steps: [
      {
        id: "allocate",
        compensateOnError: true,
        async invoke(s) {
          const r = await deps.catalog.reserve(
            allocationKey(s.sessionId),
            s.items.map((i) => ({ skuId: i.skuId, quantity: i.stock })),
            ALLOCATION_TTL_SECONDS,
          );
          if (r.code !== "OK") throw new WorkflowAbort(r.code, { failedSkuId: r.failedSkuId });
        },
        async compensate(s) {
          if (await deps.catalog.release(allocationKey(s.sessionId))) return;
          // already confirmed (reserved → sold): give the sold stock back
          for (const i of s.items)
            if (!(await deps.catalog.returnSold(`seckill-undo:${s.sessionId}:${i.skuId}`, i.skuId, i.stock)))
              throw new Error(`could not return ${i.skuId}`);
        },
      },
      {
        id: "confirm",
        async invoke(s) {
          if (!(await deps.catalog.confirm(allocationKey(s.sessionId)))) throw new Error("catalog did not confirm the seckill allocation");
        },
      },
      {
        id: "persist",
        local: true,
        compensateOnError: true,
        async invoke(s, ctx) {
          await ctx.transact((tx) =>
            tx.seckillSession.create({
              data: {
                id: s.sessionId,
                title: s.title,
                startsAt: s.startsAt,
                endsAt: s.endsAt,
                createdBy: s.createdBy,
                items: {
                  create: s.items.map((i) => ({
                    skuId: i.skuId,
                    title: i.title,
                    seckillPrice: i.seckillPrice,
                    currency: i.currency,
                    stock: i.stock,
                    perUserLimit: i.perUserLimit,
                    shards: i.shards,
                  })),
                },
              },
            }),
          );
        },
        async compensate(s) {
          await deps.prisma.seckillSession.deleteMany({ where: { id: s.sessionId } });
        },
      },
    ],
  };
}
