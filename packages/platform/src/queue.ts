/**
 * BullMQ helpers and the queue contracts shared by producers and workers. Queue names are
 * kebab-case; job names are verbs.
 */
import { Queue, Worker, QueueEvents, type Processor, type WorkerOptions, type JobsOptions, type JobType } from "bullmq";
import { instanceId } from "./instance.ts";
import { bound, jobDuration, jobFailures, reportQueueDepth } from "./metrics.ts";
import { createBlockingRedis, type Redis } from "./redis.ts";
import { bullmqTelemetry } from "./tracing/index.ts";

export { Queue, Worker, QueueEvents };

export const QueueName = {
  /** member: SMS / e-mail / push / in-app messages. Job `send`. */
  messages: "message-send",
  /** member: a member's inbox messages (order paid, shipped, prize delivered, ...), relayed from the producers' outboxes. Job `deliver` (jobId = outbox key). */
  memberMessages: "member-messages",
  /** member: operator audit entries relayed from the other domains' outboxes (decision 0024). Job `append` (jobId = entry id). */
  auditEntries: "audit-entries",
  /** member: wallet accounts for a newly added currency. Job `create-accounts`. */
  walletAccounts: "wallet-accounts",
  /** member: follow-ups of a registration, relayed from member's outbox (written in the registration's transaction). Job `issue-new-user-coupons` (jobId = `new-user-coupons-<memberId>`; retried until promotion answers). */
  memberRegistered: "member-registered",
  /** catalog: search index sync drained from the outbox. Job `sync`. */
  searchSync: "search-sync",
  /** catalog: expired inventory reservations. Job `release-expired`. */
  inventoryReservations: "inventory-reservations",
  /** order: payment time-outs. Job `cancel-unpaid`. */
  orderTimeouts: "order-timeouts",
  /** order: outbox of order events. Job `publish`. */
  orderEvents: "order-events",
  /** order: retried follow-ups of committed changes. Jobs `release-stock`, `confirm-stock`, `request-refund`. */
  orderFollowUps: "order-follow-ups",
  /** payment: close unpaid payments, recover missing callbacks. Jobs `close-expired`, `query-channel`. */
  paymentTimeouts: "payment-timeouts",
  /** payment: daily reconciliation. Job `reconcile`. */
  paymentReconcile: "payment-reconcile",
  /** payment: notifications to other domains and live status events, relayed from payment's outbox (written in the status change's transaction). Jobs `notify-paid` (jobId = `notify-paid-<paymentId>`), `notify-refunded` (`notify-refunded-<refundId>`), `publish-event` (`payment-event-<eventId>`), `send-payout`, `settle-payout`. */
  paymentNotify: "payment-notify",
  /** promotion: seckill lifecycle. Repeatable job `tick` (online / end / return stock, sweep PENDING, poll orders). */
  seckillLifecycle: "seckill-lifecycle",
  /** promotion: coupon issuance to a list of members at a time. Job `issue` (delayed; idempotent per batch and member). */
  couponIssue: "coupon-issue",
  /** promotion: the daily notice of coupons expiring within 3 days (once per coupon, through the outbox). Repeatable job `notify-expiring`. */
  couponExpiry: "coupon-expiry",
  /** lottery: red-envelope rain. Jobs `credit-grab` (wallet credit + grab row, for grabs the sweep or a close found uncredited; grabs themselves come through the rains' Redis streams), `close-rain` (delayed to endsAt), `sweep`. */
  lotteryRain: "lottery-rain",
  /** lottery: draws. Jobs `distribute-award` (retried until delivered), `sync-stock` (Redis award stock → PostgreSQL). */
  lotteryAwards: "lottery-awards",
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * The BullMQ prefix of one queue: `<REDIS_PREFIX>:bull:{<queue>}`. BullMQ's scripts touch many keys
 * of a queue at once; the hash tag puts them in one Redis Cluster slot, and different queues in
 * different slots (decision 0033). Every key of the queue starts with it: `…:bull:{<queue>}:<queue>:…`.
 */
export function bullPrefix(redisPrefix: string, queue: string): string {
  return `${redisPrefix}:bull:{${queue}}`;
}

export interface QueueContext {
  redisUrl: string;
  redisPrefix: string;
}

const connections = new Map<string, Redis>();
function sharedConnection(url: string): Redis {
  let c = connections.get(url);
  if (!c) {
    c = createBlockingRedis(url);
    connections.set(url, c);
  }
  return c;
}

export function createQueue<T = unknown>(ctx: QueueContext, name: QueueName, defaultJobOptions?: JobsOptions): Queue<T> {
  const queue = new Queue<T>(name, {
    connection: sharedConnection(ctx.redisUrl),
    prefix: bullPrefix(ctx.redisPrefix, name),
    telemetry: bullmqTelemetry(),
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: "exponential", delay: 500 },
      removeOnComplete: 1000,
      removeOnFail: 5000,
      ...defaultJobOptions,
    },
  });
  reportQueueDepth(queue);
  return queue;
}

const failures = bound(jobFailures);

export function createWorker<T = unknown, R = unknown>(
  ctx: QueueContext,
  name: QueueName,
  processor: Processor<T, R>,
  options: Partial<WorkerOptions> = {},
): Worker<T, R> {
  const worker = new Worker<T, R>(name, processor, {
    connection: createBlockingRedis(ctx.redisUrl),
    prefix: bullPrefix(ctx.redisPrefix, name),
    telemetry: bullmqTelemetry(),
    // a job's processedBy names the instance that ran it
    name: instanceId(),
    concurrency: 8,
    ...options,
  });
  // Depth of the consumed queue, through a producer made at the first scrape (shared connection).
  let depth: Queue | undefined;
  reportQueueDepth({ name, getJobCounts: (...types: JobType[]) => (depth ??= createQueue(ctx, name)).getJobCounts(...types) });
  worker.once("closed", () => void depth?.close());
  // Job metrics from the worker's own events (no extra Redis calls): durations and failed attempts.
  const ok = jobDuration.labels(name, "completed");
  const failed = jobDuration.labels(name, "failed");
  const took = (job: { processedOn?: number; finishedOn?: number } | undefined) =>
    job?.processedOn && job.finishedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined;
  worker.on("completed", (job) => {
    const s = took(job);
    if (s !== undefined) ok.observe(s);
  });
  worker.on("failed", (job) => {
    failures(name, job?.name ?? "unknown").inc();
    const s = took(job);
    if (s !== undefined) failed.observe(s);
  });
  return worker;
}

/** Closes the shared producer connections (end of a process or a test suite). */
export async function closeQueueConnections(): Promise<void> {
  await Promise.all([...connections.values()].map((c) => c.quit().catch(() => undefined)));
  connections.clear();
}

/** A field the job's producer always sets: absent is a bug (an internal error; the attempt fails). */
export function jobField<T extends object, K extends keyof T & string>(data: T, name: K): NonNullable<T[K]> {
  const value = data[name];
  if (value === undefined || value === null) throw new Error(`internal error: the job's ${name} is missing`);
  return value;
}
