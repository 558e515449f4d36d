/**
 * Processor of `order-events`: `publish` drains outbox rows that the post-commit path did not
 * publish, and prunes rows published more than a week ago.
 */
import type { Job } from "bullmq";
import type { OutboxPublisher } from "../services/outbox.ts";

export function orderEventsProcessor(outbox: OutboxPublisher) {
  return async (_job: Job) => ({ published: await outbox.drain(), pruned: await outbox.prune() });
}
