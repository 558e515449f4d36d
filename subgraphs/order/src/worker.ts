/**
 * The order domain's workers: payment time-outs (the repeatable `sweep-expired`, every second:
 * decision 0051), the status events relayed from the outbox (`order-events`:
 * `publish-event`; the relay runs every second here), the
 * retried follow-ups of committed changes, and the sweep of durable workflow runs whose process died
 * (at start-up and every few seconds, one worker at a time).
 */
import type { Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { createQueue, createWorker, QueueName } from "@mallgraph/platform/queue";
import { closeOrderServices, createOrderServices, type OrderSubgraphOptions } from "./index.ts";
import { orderEventsProcessor } from "./jobs/orderEvents.ts";
import { orderFollowUpsProcessor } from "./jobs/orderFollowUps.ts";
import { orderTimeoutsProcessor } from "./jobs/orderTimeouts.ts";
import { TimeoutJob } from "./services/orders.ts";

export interface OrderWorkerOptions extends Omit<OrderSubgraphOptions, "config" | "port"> {
  /** Interval of the outbox relay (ms, default 1000). */
  outboxEveryMs?: number;
  /** Interval of the payment time-out sweep (ms, default 1000). */
  sweepEveryMs?: number;
  /** Workflow sweep interval (ms). */
  workflowEveryMs?: number;
}

export async function startWorkers(config: Config, opts: OrderWorkerOptions = {}): Promise<() => Promise<void>> {
  const log = logger("order-worker");
  const services = createOrderServices({ config, ...opts });
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const events = createQueue(q, QueueName.orderEvents);
  // the former drain of the OrderOutbox table: status events now travel through the job outbox
  await events.removeJobScheduler("publish-outbox").catch(() => undefined);
  await services.timeouts.upsertJobScheduler("sweep-expired", { every: opts.sweepEveryMs ?? 1000 }, { name: TimeoutJob.sweepExpired });
  const workers = [
    createWorker(q, QueueName.orderTimeouts, orderTimeoutsProcessor(services.orders)),
    createWorker(q, QueueName.orderEvents, orderEventsProcessor(services.redis, config.REDIS_PREFIX), { concurrency: 4 }),
    createWorker(q, QueueName.orderFollowUps, orderFollowUpsProcessor(services.orders)),
  ];
  for (const w of workers) w.on("failed", (job, err) => log.warn({ err, job: job?.name, queue: w.name }, "order job failed"));
  const stopRelay = services.jobs.start(opts.outboxEveryMs ?? 1000);
  const stopWorkflows = services.workflows.start(opts.workflowEveryMs ?? 5000);
  return async () => {
    await stopWorkflows();
    await stopRelay();
    await Promise.all(workers.map((w) => w.close()));
    await events.close();
    await closeOrderServices(services);
  };
}
