/**
 * Processor of `order-timeouts`: `sweep-expired` (repeatable, every second) cancels the unpaid orders
 * that are due (decision 0051). The delayed `cancel-unpaid` / `cancel-unpaid-batch` jobs that earlier
 * versions queued per order still come due after an upgrade: they complete without work, since the
 * sweep cancels their orders when due.
 */
import type { Job } from "bullmq";
import type { OrderService } from "../services/orders.ts";
import { TimeoutJob } from "../services/orders.ts";

export function orderTimeoutsProcessor(orders: OrderService) {
  return async (job: Job) => {
    if (job.name === TimeoutJob.sweepExpired) return { cancelled: await orders.sweepExpired() };
    if (job.name === TimeoutJob.cancelUnpaid || job.name === TimeoutJob.cancelUnpaidBatch) return { leftToSweep: true };
    throw new Error(`unknown job ${job.name}`);
  };
}
