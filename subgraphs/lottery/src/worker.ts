/**
 * The lottery domain's BullMQ workers:
 * - lottery-rain: `credit-grab` (records a grab and credits the member's wallet, retried until
 *   delivered), `close-rain` (delayed to endsAt) and the repeatable `sweep`;
 * - lottery-awards: `distribute-award` (retried until delivered), `sync-stock` and `sweep`;
 * - the relay of the lottery outbox (member messages: red envelope received, prize delivered).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { createWorker, QueueName } from "@mallgraph/platform/queue";
import { lotteryProcessors } from "./jobs/processors.ts";
import { createLotteryServices, type LotteryServiceOptions } from "./services/index.ts";

export async function startWorkers(config: Config, overrides: Partial<LotteryServiceOptions> = {}): Promise<() => Promise<void>> {
  const log = logger("lottery-worker");
  const services = createLotteryServices({ config, ...overrides });
  const p = lotteryProcessors(services);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const workers = [
    createWorker(q, QueueName.lotteryRain, p.rain, { concurrency: 8 }),
    createWorker(q, QueueName.lotteryAwards, p.awards, { concurrency: 8 }),
  ];
  for (const w of workers)
    w.on("failed", (job, err) => log.warn({ queue: w.name, job: job?.name, err: err.message }, "lottery job failed"));
  await services.queues.rain.upsertJobScheduler("lottery-rain-sweep", { every: 60_000 }, { name: "sweep", data: {} });
  await services.queues.awards.upsertJobScheduler("lottery-awards-sweep", { every: 60_000 }, { name: "sweep", data: {} });
  const stopRelay = services.jobs.start(1000);
  return async () => {
    await Promise.all(workers.map((w) => w.close()));
    await stopRelay();
    await services.close();
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stop = await startWorkers(loadConfig());
  const shutdown = async () => {
    await stop();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
