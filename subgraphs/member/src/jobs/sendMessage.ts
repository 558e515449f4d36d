/**
 * Processor of QueueName.messages, job `send`: renders the template, records the message in the
 * message center (one row per job — a retried job finds its row and does not store it twice; a job is
 * its queue, id and creation time, as ids start again from 1 when Redis lost the queue), then
 * delivers through the channel's provider and marks the row SENT. Failures throw, so BullMQ retries
 * with exponential backoff (attempts/backoff of createQueue).
 */
import type { Logger } from "@mallgraph/platform/log";
import { UnrecoverableError, type Job } from "bullmq";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { SendMessageJob } from "../services/job-contracts.ts";
import { pickProvider, type MessageProvider } from "../services/providers.ts";
import { renderTemplate } from "../services/templates.ts";

const CHANNELS = new Set(["SMS", "EMAIL", "PUSH", "IN_APP"]);

export function sendMessageProcessor(deps: {
  prisma: PrismaClient;
  providers: { center: MessageProvider; email?: MessageProvider };
  log: Logger;
}) {
  return async (
    job: Pick<Job<SendMessageJob>, "id" | "name" | "data" | "queueName" | "timestamp">,
  ): Promise<{ messageId: string; provider: string; duplicate: boolean }> => {
    const { channel, recipient, template, params } = job.data ?? ({} as SendMessageJob);
    if (!CHANNELS.has(channel) || typeof recipient !== "string" || !recipient || typeof template !== "string" || !template) {
      throw new UnrecoverableError(`malformed message job ${job.id}`);
    }
    const { subject, body } = renderTemplate(template, params ?? {});
    const provider = pickProvider(channel, deps.providers);
    // BullMQ numbers jobs per queue from 1 again once its keys are gone (a Redis restart that lost
    // them, a renamed queue): the job's creation time tells a new job from a retried one.
    const jobKey = `${job.queueName}:${job.id}:${job.timestamp}`;
    const row = await deps.prisma.message.upsert({
      where: { jobKey },
      create: { jobKey, channel, recipient, template, body, provider: provider.name },
      update: {},
    });
    if (row.status === "SENT") return { messageId: row.id, provider: row.provider, duplicate: true };
    await provider.send({ channel, recipient, subject, body });
    await deps.prisma.message.update({ where: { id: row.id }, data: { status: "SENT", sentAt: new Date() } });
    deps.log.debug({ messageId: row.id, channel, template }, "message sent");
    return { messageId: row.id, provider: provider.name, duplicate: false };
  };
}
