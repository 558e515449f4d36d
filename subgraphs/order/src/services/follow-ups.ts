/**
 * The jobs the order use cases leave behind: the side effects in other domains (release / confirm
 * stock, refund) that run after a commit and are retried by a job when they fail (idempotent on the
 * other side).
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

/**
 * The `order-timeouts` queue's jobs. `sweep-expired` (repeatable, every second) is the payment time-out
 * of every order (decision 0051). `cancel-unpaid` (`{ orderId }`) and `cancel-unpaid-batch`
 * (`{ orderIds }`) are the delayed jobs earlier versions queued per order and per seckill batch: no
 * longer added; one that comes due after an upgrade completes without work (the sweep has its orders).
 */
export const TimeoutJob = {
  cancelUnpaid: "cancel-unpaid",
  cancelUnpaidBatch: "cancel-unpaid-batch",
  sweepExpired: "sweep-expired",
} as const;

export class OrderFollowUps {
  constructor(private readonly d: Pick<OrderServiceDeps, "followUps" | "catalog" | "payment" | "log">) {}

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
