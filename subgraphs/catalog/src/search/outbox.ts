/**
 * Drains the search outbox into the search backend. A row is marked done only after its SPU's
 * document was indexed (or removed), so nothing is lost when the worker dies midway: the rows stay
 * pending and the next run indexes them again (indexing is idempotent — documents are rebuilt from
 * the database). One drainer at a time (a Redis lock), so an older state never overwrites a newer.
 */
import { randomUUID } from "node:crypto";
import { lockReleaser } from "@mallgraph/platform/redis";
import type { Redis, KeyFn } from "@mallgraph/platform/redis";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { buildDocuments } from "./documents.ts";
import type { SearchBackend } from "./types.ts";

export interface DrainDeps {
  prisma: PrismaClient;
  redis: Redis;
  keys: KeyFn;
  backend: SearchBackend;
}

const LOCK_MS = 15_000;

/** One batch: returns the number of outbox rows processed (0 when idle or another drainer runs). */
export async function drainOnce(d: DrainDeps, batch = 200): Promise<number> {
  const rows = await d.prisma.searchOutbox.findMany({
    where: { processedAt: null },
    orderBy: { id: "asc" },
    take: batch,
    select: { id: true, spuId: true },
  });
  if (!rows.length) return 0;
  const { docs, removed } = await buildDocuments(
    d.prisma,
    rows.map((r) => r.spuId),
  );
  if (docs.length) await d.backend.index(docs);
  if (removed.length) await d.backend.remove(removed);
  await d.prisma.searchOutbox.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { processedAt: new Date() } });
  return rows.length;
}

/** Drains until the outbox is empty (bounded), under a lock. Also forgets rows done a day ago. */
export async function drainOutbox(d: DrainDeps, maxBatches = 50): Promise<number> {
  const lock = d.keys("searchSync", "lock");
  const token = randomUUID();
  if (!(await d.redis.set(lock, token, "PX", LOCK_MS, "NX"))) return 0;
  try {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await drainOnce(d);
      total += n;
      if (n === 0) break;
      await d.redis.pexpire(lock, LOCK_MS);
    }
    await d.prisma.searchOutbox.deleteMany({ where: { processedAt: { lt: new Date(Date.now() - 24 * 3600 * 1000) } } });
    return total;
  } finally {
    await lockReleaser(d.redis)(lock, token);
  }
}

export async function pendingOutbox(prisma: PrismaClient): Promise<number> {
  return prisma.searchOutbox.count({ where: { processedAt: null } });
}
