/**
 * One process running every domain's BullMQ workers and repeatable jobs (subgraphs/<d>/src/worker.ts,
 * each exporting `startWorkers(config)` that resolves to a stop function).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig } from "../packages/platform/src/config.ts";
import { logger } from "../packages/platform/src/log.ts";

const root = path.resolve(import.meta.dirname, "..");
const log = logger("workers");

export async function startAllWorkers(config = loadConfig()): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  for (const d of DOMAINS) {
    const file = path.join(root, "subgraphs", d, "src", "worker.ts");
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
  const stop = await startAllWorkers();
  const shutdown = async () => {
    await stop();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
