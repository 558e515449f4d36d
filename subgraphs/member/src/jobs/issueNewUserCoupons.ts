/**
 * Processor of QueueName.memberRegistered, job `issue-new-user-coupons`: asks promotion for the new
 * member's NEW_USER coupons. Written into member's outbox in the registration's transaction (key
 * and jobId from the member id) and relayed after commit, or by the worker's relay after a crash;
 * any failure throws, so BullMQ retries with exponential backoff until promotion answers
 * (promotion's call is idempotent per member and template, so a retry or re-delivery is safe).
 */
import { UnrecoverableError, type Job } from "bullmq";
import type { IssueNewUserCouponsJob } from "../services/job-contracts.ts";
import type { NewUserCoupons } from "../services/promotion.ts";

export function issueNewUserCouponsProcessor(coupons: NewUserCoupons) {
  return async (job: Pick<Job<IssueNewUserCouponsJob>, "id" | "data">): Promise<{ memberId: string; issued: number }> => {
    const memberId = job.data?.memberId;
    if (typeof memberId !== "string" || !memberId) throw new UnrecoverableError(`malformed new-user-coupons job ${job.id}`);
    return { memberId, issued: await coupons.issue(memberId) };
  };
}
