/**
 * The payment domain's BullMQ workers:
 * - payment-timeouts: `close-expired` (delayed per payment: ask the channel, recover or close),
 *   `query-refund` (polls a refund the provider is still processing) and the repeatable `sweep`
 *   (re-enqueues work a crash may have dropped);
 * - payment-notify: `notify-paid` / `notify-refunded` (retried until the order acknowledges) and
 *   `publish-event` (the live status event, once per event), relayed from the payment outbox —
 *   this worker runs the relay every second, so jobs whose post-commit relay was lost still go;
 * - payment-reconcile: repeatable daily `reconcile` of yesterday's sandbox statement;
 * - the sweep of durable workflow runs (wallet payments, provider checkouts) whose process died.
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { SHOP_TIME_ZONE } from "@mallgraph/platform/days";
import { logger } from "@mallgraph/platform/log";
import { createWorker, QueueName } from "@mallgraph/platform/queue";
import { runWorkersMain } from "@mallgraph/platform/subgraph";
import { paymentProcessors } from "./jobs/processors.ts";
import { createPaymentServices, type PaymentServiceOptions } from "./services/index.ts";

export async function startWorkers(
  config: Config,
  { workflowEveryMs = 5000, ...overrides }: Partial<PaymentServiceOptions> & { workflowEveryMs?: number } = {},
): Promise<() => Promise<void>> {
  const log = logger("payment-worker");
  const services = await createPaymentServices({ config, ...overrides });
  const p = paymentProcessors(services);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const workers = [
    createWorker(q, QueueName.paymentTimeouts, p.timeouts, { concurrency: 4 }),
    createWorker(q, QueueName.paymentNotify, p.notify, { concurrency: 4 }),
    createWorker(q, QueueName.paymentReconcile, p.reconcile, { concurrency: 1 }),
  ];
  for (const w of workers)
    w.on("failed", (job, err) => log.warn({ queue: w.name, job: job?.name, err: err.message }, "payment job failed"));
  const stopRelay = services.jobs.start(1000);
  const stopWorkflows = services.workflows.start(workflowEveryMs);
  await services.queues.timeouts.upsertJobScheduler("payment-sweep", { every: 60_000 }, { name: "sweep", data: {} });
  await services.queues.reconcile.upsertJobScheduler(
    "payment-daily-reconcile",
    { pattern: "30 2 * * *", tz: SHOP_TIME_ZONE },
    { name: "reconcile", data: {} },
  );
  return async () => {
    await stopRelay();
    await stopWorkflows();
    await Promise.all(workers.map((w) => w.close()));
    await services.close();
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runWorkersMain("payment", () => startWorkers(loadConfig()));
