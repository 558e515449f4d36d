/** Processor of `order-timeouts`: `cancel-unpaid` (delayed, one per order) and `sweep-expired` (repeatable). */
import type { Job, Queue } from "bullmq";
import type { OrderService } from "../services/orders.ts";
import { TimeoutJob } from "../services/orders.ts";

export function orderTimeoutsProcessor(orders: OrderService, queue: Queue) {
  return async (job: Job<{ orderId?: string }>) => {
    if (job.name === TimeoutJob.sweepExpired) return { cancelled: await orders.sweepExpired() };
    if (job.name !== TimeoutJob.cancelUnpaid || !job.data.orderId) throw new Error(`unknown job ${job.name}`);
    const r = await orders.cancelIfUnpaid(job.data.orderId);
    if (r.code === "NOT_DUE") {
      // ran early (clock skew or a changed time-out): come back when due
      await queue.add(TimeoutJob.cancelUnpaid, job.data, { delay: r.retryInMs, jobId: `${job.id}-r${Date.now()}` });
    }
    return r;
  };
}
