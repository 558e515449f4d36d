/**
 * One process running every domain's BullMQ workers and repeatable jobs (subgraphs/<d>/src/worker.ts,
 * each exporting `startWorkers(config)` that resolves to a stop function), with /health, /ready and
 * /metrics on WORKERS_PORT.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig } from "../packages/platform/src/config.ts";
import { logger } from "../packages/platform/src/log.ts";
import { startOpsServer } from "../packages/platform/src/metrics.ts";
import { setProcessKind } from "../packages/platform/src/prisma.ts";
import { createRedis } from "../packages/platform/src/redis.ts";

const root = path.resolve(import.meta.dirname, "..");
/** `.ts` from the sources (tsx), `.js` from the build (dist/). */
const ext = path.extname(import.meta.filename);
const log = logger("workers");

export async function startAllWorkers(config = loadConfig()): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  for (const d of DOMAINS) {
    const file = path.join(root, "subgraphs", d, "src", `worker${ext}`);
    if (!existsSync(file)) continue;
    const mod = (await import(file)) as { startWorkers: (c: typeof config) => Promise<() => Promise<void>> };
    stops.push(await mod.startWorkers(config));
    log.info({ domain: d }, "workers started");
  }
  return async () => {
    await Promise.all(stops.map((s) => s()));
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  setProcessKind("workers"); // WORKERS_DATABASE_POOL_SIZE per domain (platform/prisma.ts)
  const stop = await startAllWorkers(config);
  const redis = createRedis(config.REDIS_URL, { enableAutoPipelining: false });
  const ops = await startOpsServer({
    name: "workers",
    port: config.WORKERS_PORT,
    host: config.SERVICE_HOST,
    ready: async () => void (await redis.ping()),
  });
  log.info({ port: ops.port }, "workers ready");
  // graceful (SIGTERM): the jobs and stream entries in hand are finished and acknowledged before the process exits
  const shutdown = async () => {
    log.info("stopping: finishing the jobs and stream entries in hand");
    await ops.stop();
    await stop();
    redis.disconnect();
    log.info("workers stopped");
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
