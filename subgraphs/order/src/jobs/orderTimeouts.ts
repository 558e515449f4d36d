/**
 * Processor of `order-timeouts`: `cancel-unpaid` (delayed, one per order), `cancel-unpaid-batch`
 * (delayed, one per seckill batch: its orders are due together, decision 0039) and `sweep-expired`
 * (repeatable).
 */
import type { Job, Queue } from "bullmq";
import type { OrderService } from "../services/orders.ts";
import { TimeoutJob } from "../services/orders.ts";

export function orderTimeoutsProcessor(orders: OrderService, queue: Queue) {
  return async (job: Job<{ orderId?: string; orderIds?: string[] }>) => {
    if (job.name === TimeoutJob.sweepExpired) return { cancelled: await orders.sweepExpired() };
    if (job.name === TimeoutJob.cancelUnpaidBatch && Array.isArray(job.data.orderIds)) {
      // a retry (some failed) runs them all again: the ones already cancelled answer INVALID_STATE
      const r = await orders.cancelUnpaidBatch(job.data.orderIds);
      // ran early (clock skew or a changed time-out): the ones not due come back when due
      if (r.notDue.length)
        await queue.add(TimeoutJob.cancelUnpaidBatch, { orderIds: r.notDue }, { delay: r.retryInMs, jobId: `${job.id}-r${Date.now()}` });
      if (r.failed.length) throw new Error(`payment time-out failed for ${r.failed.length} of ${job.data.orderIds.length} orders`);
      return { cancelled: r.cancelled, notDue: r.notDue.length };
    }
    if (job.name !== TimeoutJob.cancelUnpaid || !job.data.orderId) throw new Error(`unknown job ${job.name}`);
    const r = await orders.cancelIfUnpaid(job.data.orderId);
    if (r.code === "NOT_DUE") {
      // ran early (clock skew or a changed time-out): come back when due
      await queue.add(TimeoutJob.cancelUnpaid, job.data, { delay: r.retryInMs, jobId: `${job.id}-r${Date.now()}` });
    }
    return r;
  };
}
