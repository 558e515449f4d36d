/**
 * Processor of QueueName.memberRegistered, job `issue-new-user-coupons`: asks promotion for the new
 * member's NEW_USER coupons. Written into member's outbox in the registration's transaction (key
 * and jobId from the member id) and relayed after commit, or by the worker's relay after a crash;
 * any failure throws, so BullMQ retries with exponential backoff until promotion answers
 * (promotion's call is idempotent per member and template, so a retry or re-delivery is safe).
 */
import { UnrecoverableError, type Job, type JobsOptions } from "bullmq";
import { QueueName } from "@mallgraph/platform/queue";
import type { OutboxJob } from "@mallgraph/platform/outbox";
import type { NewUserCoupons } from "../services/promotion.ts";

export interface IssueNewUserCouponsJob {
  memberId: string;
}

export const ISSUE_NEW_USER_COUPONS = "issue-new-user-coupons";

/** One job per member (BullMQ ignores an add with the id of an existing job). */
export const issueNewUserCouponsJobId = (memberId: string) => `new-user-coupons-${memberId}`;

/** The outbox row of a registration (its key is the jobId). */
export const issueNewUserCouponsJob = (memberId: string): OutboxJob<IssueNewUserCouponsJob> => ({
  key: issueNewUserCouponsJobId(memberId),
  queue: QueueName.memberRegistered,
  name: ISSUE_NEW_USER_COUPONS,
  data: { memberId },
});

/** Queue defaults of QueueName.memberRegistered: 10 attempts, 1 s, 2 s, 4 s ... (about 17 minutes in all). */
export const MEMBER_REGISTERED_JOB_OPTIONS: JobsOptions = { attempts: 10, backoff: { type: "exponential", delay: 1000 } };

export function issueNewUserCouponsProcessor(coupons: NewUserCoupons) {
  return async (job: Pick<Job<IssueNewUserCouponsJob>, "id" | "data">): Promise<{ memberId: string; issued: number }> => {
    const memberId = job.data?.memberId;
    if (typeof memberId !== "string" || !memberId) throw new UnrecoverableError(`malformed new-user-coupons job ${job.id}`);
    return { memberId, issued: await coupons.issue(memberId) };
  };
}
