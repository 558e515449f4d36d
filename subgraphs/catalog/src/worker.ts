/**
 * The catalog's BullMQ workers:
 * - `search-sync` (job `sync`, repeated every second): drains the search outbox into the backend.
 * - `inventory-reservations` (job `release-expired`, repeated every 5 s): releases reservations
 *   whose time-out passed.
 * - the outbox relay (every second): operator audit entries to member's trail (decision 0024).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { createQueue, createWorker, QueueName, type Worker } from "@mallgraph/platform/queue";
import { runWorkersMain } from "@mallgraph/platform/subgraph";
import { createCatalogServices, closeCatalogServices, type CatalogSubgraphOptions } from "./index.ts";
import { releaseExpiredProcessor } from "./jobs/release-expired.ts";
import { searchSyncProcessor } from "./jobs/search-sync.ts";

export interface WorkerOptions extends Partial<CatalogSubgraphOptions> {
  syncEveryMs?: number;
  releaseEveryMs?: number;
}

export async function startWorkers(config: Config, opts: WorkerOptions = {}): Promise<() => Promise<void>> {
  const log = logger("catalog-worker");
  const services = await createCatalogServices({ config, ...opts });
  const qctx = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const syncQueue = createQueue(qctx, QueueName.searchSync, { attempts: 1, removeOnComplete: 100, removeOnFail: 100 });
  const releaseQueue = createQueue(qctx, QueueName.inventoryReservations, { attempts: 1, removeOnComplete: 100, removeOnFail: 100 });
  await syncQueue.upsertJobScheduler("search-sync-every", { every: opts.syncEveryMs ?? 1000 }, { name: "sync" });
  await releaseQueue.upsertJobScheduler("release-expired-every", { every: opts.releaseEveryMs ?? 5000 }, { name: "release-expired" });
  const workers: Worker[] = [
    createWorker(qctx, QueueName.searchSync, searchSyncProcessor(services), { concurrency: 1 }),
    createWorker(qctx, QueueName.inventoryReservations, releaseExpiredProcessor(services), { concurrency: 1 }),
  ];
  for (const w of workers) w.on("failed", (job, err) => log.warn({ err, job: job?.name }, "catalog job failed"));
  const stopRelay = services.outbox?.relay.start(1000);
  return async () => {
    await stopRelay?.();
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([syncQueue.close(), releaseQueue.close()]);
    await closeCatalogServices(services);
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runWorkersMain("catalog", () => startWorkers(loadConfig()));
