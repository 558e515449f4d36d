/**
 * The jobs the order use cases leave behind: the payment time-out of a new order, and the side
 * effects in other domains (release / confirm stock, refund) that run after a commit and are
 * retried by a job when they fail (idempotent on the other side).
 */
import { jobField as field } from "@mallgraph/platform/queue";
import type { OrderServiceDeps } from "./shared.ts";

export const FollowUpJob = { releaseStock: "release-stock", confirmStock: "confirm-stock", requestRefund: "request-refund" } as const;
/** What a follow-up job carries: the reservation key (stock jobs), the refund to request (request-refund). */
export interface FollowUpData {
  orderId?: string;
  key?: string;
  amount?: string;
  reason?: string;
  reference?: string;
}

/** `cancel-unpaid`: one order (`{ orderId }`); `cancel-unpaid-batch`: the orders of a seckill batch, due together (`{ orderIds }`). */
export const TimeoutJob = {
  cancelUnpaid: "cancel-unpaid",
  cancelUnpaidBatch: "cancel-unpaid-batch",
  sweepExpired: "sweep-expired",
} as const;

export class OrderFollowUps {
  constructor(private readonly d: Pick<OrderServiceDeps, "timeouts" | "followUps" | "catalog" | "payment" | "log">) {}

  /** Queues the payment time-out of a new order; the sweep job covers a lost one. */
  async scheduleTimeout(orderId: string, expiresAt: Date): Promise<void> {
    try {
      await this.d.timeouts.add(
        TimeoutJob.cancelUnpaid,
        { orderId },
        { jobId: `cancel-unpaid-${orderId}`, delay: Math.max(0, expiresAt.getTime() - Date.now()) },
      );
    } catch (e) {
      this.d.log.warn({ err: e, orderId }, "could not schedule the payment time-out; the sweep job covers it");
    }
  }

  /**
   * Queues ONE delayed time-out for orders made together and due at the same moment (a seckill batch,
   * decision 0039) instead of one job each; the sweep covers a lost one, as for `scheduleTimeout`.
   */
  async scheduleTimeouts(orderIds: string[], expiresAt: Date): Promise<void> {
    const [first] = orderIds;
    if (first === undefined) return;
    if (orderIds.length === 1) return this.scheduleTimeout(first, expiresAt);
    try {
      await this.d.timeouts.add(
        TimeoutJob.cancelUnpaidBatch,
        { orderIds },
        // an order belongs to one batch only: its first order's id names the job
        { jobId: `cancel-unpaid-batch-${first}`, delay: Math.max(0, expiresAt.getTime() - Date.now()) },
      );
    } catch (e) {
      this.d.log.warn({ err: e, orderIds }, "could not schedule the batch's payment time-out; the sweep job covers it");
    }
  }

  /** Runs a cross-domain follow-up now; when it fails, a job retries it (idempotent on the other side). */
  async followUp(job: string, data: Record<string, unknown>, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (e) {
      this.d.log.warn({ err: e, job, ...data }, "follow-up failed; queued for retry");
      await this.d.followUps
        .add(job, data, { attempts: 20, backoff: { type: "exponential", delay: 1000 } })
        .catch((qe) => this.d.log.error({ err: qe, job, ...data }, "could not queue follow-up"));
    }
  }

  /** Runs a queued follow-up (worker). */
  async runFollowUp(job: string, data: FollowUpData): Promise<void> {
    if (job === FollowUpJob.releaseStock) await this.d.catalog.release(field(data, "key"));
    else if (job === FollowUpJob.confirmStock) await this.d.catalog.confirm(field(data, "key"));
    else if (job === FollowUpJob.requestRefund)
      await this.d.payment.refundOrderPayment(
        field(data, "orderId"),
        field(data, "amount"),
        field(data, "reason"),
        field(data, "reference"),
      );
    else throw new Error(`unknown follow-up ${job}`);
  }
}
