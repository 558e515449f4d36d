/**
 * Processor of QueueName.memberMessages, job `deliver`: one inbox message for a member, relayed from
 * a producer's outbox (order paid, shipped, after-sale decided, coupon expiring, prize delivered, red
 * envelope received). The job id is the outbox key — the idempotency key of the delivery.
 */
import type { Logger } from "@mallgraph/platform/log";
import { UnrecoverableError, type Job } from "bullmq";
import type { InboxService } from "../services/inbox.ts";
import { INBOX_KINDS, type InboxKind } from "../services/templates.ts";

export const DELIVER_MESSAGE = "deliver";

export interface DeliverMessageJob {
  memberId: string;
  kind: InboxKind;
  params?: Record<string, unknown>;
}

export function deliverMessageProcessor(deps: { inbox: InboxService; log: Logger }) {
  return async (job: Pick<Job<DeliverMessageJob>, "id" | "data">) => {
    const { memberId, kind, params } = job.data ?? ({} as DeliverMessageJob);
    if (!job.id || typeof memberId !== "string" || !memberId || !Object.hasOwn(INBOX_KINDS, kind))
      throw new UnrecoverableError(`malformed inbox message job ${job.id}`);
    const r = await deps.inbox.deliver(job.id, memberId, kind, params ?? {});
    if (!r.message) deps.log.warn({ key: job.id, memberId, kind }, "inbox message for an unknown or closed member dropped");
    return { messageId: r.message?.id ?? null, duplicate: r.duplicate };
  };
}
