/**
 * The jobs member's services enqueue: their names, payloads and options. Services write them (into
 * the outbox or a queue); the processors in ../jobs read them. Jobs depend on services, never the
 * other way round, so the contracts live here.
 */
import type { OutboxJob } from "@mallgraph/platform/outbox";
import { QueueName } from "@mallgraph/platform/queue";
import type { JobsOptions } from "bullmq";

/** QueueName.messages, job `send`. */
export interface SendMessageJob {
  channel: "SMS" | "EMAIL" | "PUSH" | "IN_APP";
  recipient: string;
  template: string;
  params?: Record<string, unknown>;
}

/** QueueName.walletAccounts, job `create-accounts`. */
export interface CreateAccountsJob {
  currency: string;
}

/** QueueName.memberRegistered, job `issue-new-user-coupons`. */
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
