/**
 * The promotion domain's workers: the consumer of the seckill streams (services/seckill-stream.ts: each
 * reservation copied to PostgreSQL, then its order made; the reservations read together make their
 * orders in one call, services/seckill-order-batcher.ts), `seckill-lifecycle` (the repeatable `tick`:
 * sessions online / ended / unsold stock back to catalog, the sweeper of PENDING reservations, the poll
 * of their orders' statuses), `coupon-issue` (scheduled coupon issuance), `coupon-expiry` (the daily
 * `notify-expiring`, 10:00 in China), the relay of the promotion outbox and the sweep of durable
 * workflow runs (seckill session creation) whose process died. Stopping finishes the entries and jobs
 * in hand first (graceful shutdown).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { SHOP_TIME_ZONE } from "@mallgraph/platform/days";
import { logger } from "@mallgraph/platform/log";
import { periodic } from "@mallgraph/platform/periodic";
import { createQueue, createWorker, QueueName } from "@mallgraph/platform/queue";
import { StreamConsumer } from "@mallgraph/platform/streams";
import { runWorkersMain } from "@mallgraph/platform/subgraph";
import type { Worker } from "bullmq";
import { closePromotionServices, createPromotionServices, type PromotionSubgraphOptions } from "./index.ts";
import { couponExpiryProcessor, NOTIFY_EXPIRING } from "./jobs/couponExpiry.ts";
import { couponIssueProcessor } from "./jobs/couponIssue.ts";
import { seckillLifecycleProcessor } from "./jobs/seckillLifecycle.ts";
import { SeckillJob } from "./services/seckill.ts";

export interface PromotionWorkerOptions extends Omit<PromotionSubgraphOptions, "config" | "port"> {
  /** Interval of the lifecycle tick (ms, default 2000). */
  tickEveryMs?: number;
  /** Stream entries read per shard and round (default 200: the reservations read together share one order call). */
  streamCount?: number;
  /** A stream entry delivered this long ago and not done (a dead or failing worker) is taken over (ms, default 10 000). */
  claimIdleMs?: number;
  /** Only the streams' consumer (tests that drive the lifecycle by hand). */
  ordersOnly?: boolean;
  /** Interval of the outbox relay (ms, default 1000). */
  relayEveryMs?: number;
  /** Interval of the check for seckill items that lost Redis data (ms, default 5000; also at start-up and every tick). */
  checkEveryMs?: number;
  /** Interval of the durable workflow sweep (ms, default 5000). */
  workflowEveryMs?: number;
}

export async function startWorkers(config: Config, opts: PromotionWorkerOptions = {}): Promise<() => Promise<void>> {
  const log = logger("promotion-worker");
  const services = createPromotionServices({ config, ...opts });
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const seckill = services.seckill;
  const lifecycle = createQueue(q, QueueName.seckillLifecycle, { attempts: 1, removeOnComplete: 100, removeOnFail: 100 });
  const expiry = createQueue(q, QueueName.couponExpiry, { attempts: 5, removeOnComplete: 30, removeOnFail: 30 });
  const schedule = async () => {
    if (opts.ordersOnly) return;
    await expiry.upsertJobScheduler(
      "coupon-expiry-daily",
      { pattern: "0 10 * * *", tz: SHOP_TIME_ZONE },
      { name: NOTIFY_EXPIRING, data: {} },
    );
    await lifecycle.upsertJobScheduler("seckill-tick", { every: opts.tickEveryMs ?? 2000 }, { name: SeckillJob.tick, data: {} });
  };
  // Items that lost Redis data are rebuilt from PostgreSQL before anything else runs on them: at start-up,
  // then every few seconds outside BullMQ (a Redis that lost its data lost the job schedulers too: put back).
  if (await seckill.reconcileIfLost()) await schedule();
  const stopCheck = periodic(
    opts.checkEveryMs ?? 5000,
    async () => {
      if (await seckill.reconcileIfLost()) await schedule();
    },
    (e) => log.error({ err: e }, "the check for seckill items that lost Redis data failed"),
  );
  const streams = new StreamConsumer({
    redis: services.redis,
    group: "seckill-orders",
    streams: () => seckill.streams(),
    handle: (stream, entries) => seckill.handleStream(stream, entries),
    log,
    count: opts.streamCount,
    claimIdleMs: opts.claimIdleMs,
    claimEveryMs: Math.min(1000, opts.claimIdleMs ?? 1000),
  });
  streams.start();
  const workers: Worker[] = [createWorker(q, QueueName.couponIssue, couponIssueProcessor(services.coupons), { concurrency: 2 })];
  let stopRelay = async () => {};
  let stopWorkflows = async () => {};
  if (!opts.ordersOnly) {
    stopWorkflows = services.workflows.start(opts.workflowEveryMs ?? 5000);
    await schedule();
    workers.push(createWorker(q, QueueName.couponExpiry, couponExpiryProcessor(services.couponExpiry), { concurrency: 1 }));
    stopRelay = services.jobs.start(opts.relayEveryMs ?? 1000);
    workers.push(createWorker(q, QueueName.seckillLifecycle, seckillLifecycleProcessor(services.seckill), { concurrency: 1 }));
  }
  for (const w of workers)
    w.on("failed", (job, err) => log.warn({ queue: w.name, job: job?.name, err: err.message }, "promotion job failed"));
  return async () => {
    await Promise.all([stopCheck(), streams.stop(), ...workers.map((w) => w.close())]);
    await stopRelay();
    await stopWorkflows();
    await Promise.all([lifecycle.close(), expiry.close()]);
    await closePromotionServices(services);
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runWorkersMain("promotion", () => startWorkers(loadConfig()));
