/** Processor of `order-follow-ups`: retries of release-stock / confirm-stock / request-refund (idempotent calls). */
import type { Job } from "bullmq";
import type { OrderService } from "../services/orders.ts";

export function orderFollowUpsProcessor(orders: OrderService) {
  return async (job: Job) => {
    await orders.runFollowUp(job.name, job.data);
  };
}
