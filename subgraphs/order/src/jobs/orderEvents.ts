/**
 * Processor of `order-events`: `publish-event` publishes one order status event relayed from the
 * outbox, `publish-events` the creation events of a batch of seckill orders (decision 0039) — each
 * event once per event id (packages/platform/src/outbox.ts). `publish`, the repeatable drain of
 * the former OrderOutbox table, is gone: a job of it still scheduled is acknowledged and ignored.
 */
import {
  PUBLISH_EVENT_JOB,
  PUBLISH_EVENTS_JOB,
  publishLiveEventJob,
  publishLiveEventsJob,
  type LiveEventJobData,
  type LiveEventsJobData,
} from "@mallgraph/platform/outbox";
import type { Redis } from "@mallgraph/platform/redis";
import type { Job } from "bullmq";

export function orderEventsProcessor(redis: Redis, prefix: string) {
  return async (job: Job) => {
    if (job.name === PUBLISH_EVENTS_JOB) return { published: await publishLiveEventsJob(redis, prefix, job.data as LiveEventsJobData) };
    if (job.name !== PUBLISH_EVENT_JOB) return "obsolete";
    return (await publishLiveEventJob(redis, prefix, job.data as LiveEventJobData)) ? "published" : "published before";
  };
}
