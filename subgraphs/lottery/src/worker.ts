/**
 * The lottery domain's workers:
 * - the consumer of the rains' streams (services/rain-stream.ts): each grab recorded in PostgreSQL,
 *   then the member's wallet credited once (decision 0032);
 * - lottery-rain: `credit-grab` (credits of grabs the sweep or a close found uncredited, retried until
 *   delivered), `close-rain` (delayed to endsAt) and the repeatable `sweep`;
 * - lottery-awards: `distribute-award` (retried until delivered), `sync-stock` and `sweep`;
 * - the check for rains that lost Redis data (at start-up, then every few seconds outside BullMQ);
 * - the sweep of durable workflow runs (red-envelope rain creation) whose process died;
 * - the relay of the lottery outbox (member messages: red envelope received, prize delivered).
 * Stopping finishes the entries and jobs in hand first (graceful shutdown).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { periodic } from "@mallgraph/platform/periodic";
import { createWorker, QueueName } from "@mallgraph/platform/queue";
import { StreamConsumer } from "@mallgraph/platform/streams";
import { runWorkersMain } from "@mallgraph/platform/subgraph";
import { lotteryProcessors } from "./jobs/processors.ts";
import { createLotteryServices, type LotteryServiceOptions } from "./services/index.ts";

export interface LotteryWorkerOptions {
  /** A stream entry delivered this long ago and not done (a dead worker, a failed credit) is taken over (ms, default 10 000). */
  claimIdleMs?: number;
  /** Interval of the check for rains that lost Redis data (ms, default 5000; also at start-up). */
  checkEveryMs?: number;
  /** Interval of the durable workflow sweep (ms, default 5000; also at start-up). */
  workflowEveryMs?: number;
}

export async function startWorkers(
  config: Config,
  overrides: Partial<LotteryServiceOptions> & LotteryWorkerOptions = {},
): Promise<() => Promise<void>> {
  const log = logger("lottery-worker");
  const services = createLotteryServices({ config, ...overrides });
  const p = lotteryProcessors(services);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const schedule = async () => {
    await services.queues.rain.upsertJobScheduler("lottery-rain-sweep", { every: 60_000 }, { name: "sweep", data: {} });
    await services.queues.awards.upsertJobScheduler("lottery-awards-sweep", { every: 60_000 }, { name: "sweep", data: {} });
  };
  // rains that lost Redis data are rebuilt from PostgreSQL (a Redis that lost its data lost the job schedulers too: put back)
  const check = async () => {
    if (await services.rain.reconcileIfLost()) await schedule();
  };
  await check();
  const stopCheck = periodic(overrides.checkEveryMs ?? 5000, check, (e) =>
    log.error({ err: e }, "the check for red-envelope rains that lost Redis data failed"),
  );
  const streams = new StreamConsumer({
    redis: services.redis,
    group: "rain-credits",
    streams: () => services.rain.streams(),
    handle: (stream, entries) => services.rain.handleStream(stream, entries),
    log,
    claimIdleMs: overrides.claimIdleMs,
    claimEveryMs: Math.min(1000, overrides.claimIdleMs ?? 1000),
  });
  streams.start();
  const workers = [
    createWorker(q, QueueName.lotteryRain, p.rain, { concurrency: 8 }),
    createWorker(q, QueueName.lotteryAwards, p.awards, { concurrency: 8 }),
  ];
  for (const w of workers)
    w.on("failed", (job, err) => log.warn({ queue: w.name, job: job?.name, err: err.message }, "lottery job failed"));
  await schedule();
  const stopRelay = services.jobs.start(1000);
  const stopWorkflows = services.workflows.start(overrides.workflowEveryMs ?? 5000);
  return async () => {
    await Promise.all([stopCheck(), streams.stop(), ...workers.map((w) => w.close())]);
    await stopRelay();
    await stopWorkflows();
    await services.close();
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runWorkersMain("lottery", () => startWorkers(loadConfig()));
