import { logger } from "@mallgraph/platform/log";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendMessageProcessor } from "../src/jobs/sendMessage.ts";
import { messageCenterProvider, type MessageProvider, type OutgoingMessage } from "../src/services/providers.ts";
import { createHarness, waitFor, type Harness } from "./helpers.ts";

/** A provider that fails its first `failures` sends (as a flaky SMTP server would). */
function flaky(failures: number): MessageProvider & { sent: OutgoingMessage[]; calls: number } {
  const p = {
    name: "flaky",
    sent: [] as OutgoingMessage[],
    calls: 0,
    async send(msg: OutgoingMessage) {
      p.calls += 1;
      if (p.calls <= failures) throw new Error("provider down");
      p.sent.push(msg);
    },
  };
  return p;
}

describe("message worker", () => {
  let h: Harness;
  const email = flaky(2);
  beforeAll(async () => {
    h = await createHarness({ workers: { providers: { center: messageCenterProvider(logger("test")), email } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("stores a message once per job even when the processor runs again for the same job", async () => {
    const process = sendMessageProcessor({
      prisma: h.sg.services.prisma,
      providers: { center: messageCenterProvider(logger("test")) },
      log: logger("test"),
    });
    const job = {
      id: "42",
      name: "send",
      queueName: "message-send",
      timestamp: 1_796_000_000_000,
      data: { channel: "SMS" as const, recipient: "13700000000", template: "sms-code", params: { code: "123456" } },
    };
    const first = await process(job);
    const second = await process(job);
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ messageId: first.messageId, provider: "message-center", duplicate: true });
    const rows = await h.sg.services.prisma.message.findMany({ where: { recipient: "13700000000" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "SENT", body: "【mallgraph】Your verification code is 123456. It expires in 5 minutes." });

    // Redis lost the queue: BullMQ numbers jobs from 1 again, and a new job 42 is a new message
    const reborn = await process({ ...job, timestamp: job.timestamp + 60_000, data: { ...job.data, params: { code: "654321" } } });
    expect(reborn.duplicate).toBe(false);
    expect(await h.sg.services.prisma.message.count({ where: { recipient: "13700000000" } })).toBe(2);
  });

  it("retries a failing provider with backoff through BullMQ and stores the e-mail once", async () => {
    const q = createQueue({ redisUrl: h.config.REDIS_URL, redisPrefix: h.config.REDIS_PREFIX }, QueueName.messages, {
      backoff: { type: "exponential", delay: 10 },
    });
    const job = await q.add("send", { channel: "EMAIL", recipient: "li@example.com", template: "welcome", params: { name: "Li" } });
    await waitFor(async () => {
      const j = await q.getJob(job.id!);
      return j && (await j.isCompleted());
    }, "email job completion");
    // Read the job again once completed: a snapshot taken during the last attempt still says 2.
    const done = (await q.getJob(job.id!))!;
    expect(done.attemptsMade).toBe(3);
    expect(email.calls).toBe(3);
    expect(email.sent).toHaveLength(1);
    expect(email.sent[0]).toMatchObject({
      recipient: "li@example.com",
      subject: "Welcome to mallgraph",
      body: "【mallgraph】Welcome, Li! Your account is ready.",
    });
    const rows = await h.sg.services.prisma.message.findMany({ where: { recipient: "li@example.com" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: "EMAIL", provider: "flaky", status: "SENT" });
    await q.close();
  });

  it("a malformed job fails for good without storing anything", async () => {
    const q = createQueue({ redisUrl: h.config.REDIS_URL, redisPrefix: h.config.REDIS_PREFIX }, QueueName.messages);
    const job = await q.add("send", { channel: "FAX", recipient: "x", template: "sms-code" } as any);
    await waitFor(async () => ((await q.getJob(job.id!)) && (await (await q.getJob(job.id!))!.isFailed()) ? true : null), "failed job");
    expect((await q.getJob(job.id!))!.attemptsMade).toBe(1);
    expect(await h.sg.services.prisma.message.count({ where: { recipient: "x" } })).toBe(0);
    await q.close();
  });
});
