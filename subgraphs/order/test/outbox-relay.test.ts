/**
 * The platform's job outbox (packages/platform/src/outbox.ts) on the order schema, with real
 * PostgreSQL, Redis and BullMQ: nothing lost when Redis is unreachable, nothing sent twice by
 * parallel relays or by a relay that dies between adding the jobs and marking the rows (within
 * BullMQ's retention of completed jobs; past it, consumers' unique keys on job.id hold); the status
 * events of one relay run go out as one job, each published once (decision 0046).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { eventChannel } from "@mallgraph/platform/events";
import { logger } from "@mallgraph/platform/log";
import { memberMessage, OutboxRelay, outboxQueues, writeOutbox } from "@mallgraph/platform/outbox";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { bullPrefix, closeQueueConnections, createWorker, QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { createTestRedis, createTestSchema, waitFor, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { orderEventsProcessor } from "../src/jobs/orderEvents.ts";
import { ORDER_STATUS_TOPIC, orderStatusEvent } from "../src/services/outbox.ts";

describe("job outbox relay", () => {
  let db: TestSchema;
  let redis: TestRedis;
  let prisma: PrismaClient;
  let queues: ReturnType<typeof outboxQueues>;
  const log = logger("outbox-test");
  const seen = new Map<string, number>();
  let worker: Worker;

  beforeAll(async () => {
    db = await createTestSchema("order");
    redis = createTestRedis();
    prisma = new PrismaClient({ adapter: runtimeAdapter(db.url, 20) });
    const ctx = { redisUrl: redis.url, redisPrefix: redis.prefix };
    queues = outboxQueues(ctx, [QueueName.memberMessages]);
    worker = createWorker(
      ctx,
      QueueName.memberMessages,
      async (job) => {
        seen.set(job.id!, (seen.get(job.id!) ?? 0) + 1);
      },
      { concurrency: 50 },
    );
    await worker.waitUntilReady();
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await queues?.close();
    await closeQueueConnections();
    await prisma?.$disconnect();
    await redis?.cleanup();
    await db?.drop();
  });

  const relay = (queue = queues.queue) => new OutboxRelay({ db: prisma, queue, log, batch: 100 });
  const write = (keys: string[]) =>
    prisma.$transaction((tx) =>
      writeOutbox(
        tx,
        keys.map((k) => memberMessage(k, "m1", "ORDER_PAID", { k })),
      ),
    );

  it("a key written twice is one row; a rolled-back transaction writes none", async () => {
    await write(["twice"]);
    await write(["twice"]);
    await prisma
      .$transaction(async (tx) => {
        await writeOutbox(tx, [memberMessage("rolled-back", "m1", "ORDER_PAID", {})]);
        throw new Error("abort");
      })
      .catch(() => undefined);
    expect(await prisma.outbox.count({ where: { id: { in: ["msg.twice", "msg.rolled-back"] } } })).toBe(1);
    await expect(
      prisma.$transaction((tx) => writeOutbox(tx, [{ ...memberMessage("x", "m1", "ORDER_PAID", {}), key: "a:b" }])),
    ).rejects.toThrow(/outbox key/);
    await relay().drain();
    await waitFor(() => seen.get("msg.twice") === 1, "the job of msg.twice");
  });

  it("Redis unreachable: the rows stay pending with the error; the next relay sends each once", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `down-${i}`);
    await write(keys);
    const dead = new Queue(QueueName.memberMessages, {
      connection: { host: "127.0.0.1", port: 9, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null },
      prefix: bullPrefix(redis.prefix, QueueName.memberMessages),
    });
    dead.on("error", () => undefined);
    await expect(relay(() => dead).relayOnce()).rejects.toThrow();
    await dead.close().catch(() => undefined);
    const pending = await prisma.outbox.findMany({ where: { id: { in: keys.map((k) => `msg.${k}`) } } });
    expect(pending.every((r) => r.sentAt === null && r.attempts === 1 && r.lastError)).toBe(true);
    expect(await relay().flush()).toBe(30);
    await waitFor(() => keys.every((k) => seen.get(`msg.${k}`) === 1), "30 jobs");
    expect(keys.map((k) => seen.get(`msg.${k}`))).toEqual(keys.map(() => 1));
  });

  it("a relay that dies after adding its jobs, before marking its rows: the next relay sends none twice", async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `crash-${i}`);
    await write(keys);
    // the dead relay's adds reached Redis, its transaction never committed: the rows are still pending
    await queues.queue(QueueName.memberMessages)!.addBulk(keys.map((k) => ({ name: "deliver", data: {}, opts: { jobId: `msg.${k}` } })));
    await waitFor(() => keys.every((k) => seen.has(`msg.${k}`)), "the dead relay's jobs");
    expect(await relay().drain()).toBe(100);
    expect(await prisma.outbox.count({ where: { id: { startsWith: "msg.crash-" }, sentAt: null } })).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(keys.filter((k) => seen.get(`msg.${k}`) !== 1)).toEqual([]);
  });

  it("the status events of one relay run go out as one publish-events job; each published once, also when a relay repeats itself", async () => {
    const ctx = { redisUrl: redis.url, redisPrefix: redis.prefix };
    const eventQueues = outboxQueues(ctx, [QueueName.orderEvents, QueueName.memberMessages]);
    const publisher = createRedis(redis.url);
    const subscriber = createRedis(redis.url);
    const published: string[] = [];
    const jobs: string[] = [];
    await subscriber.subscribe(eventChannel(redis.prefix, ORDER_STATUS_TOPIC));
    subscriber.on("message", (_c, m: string) => published.push((JSON.parse(m) as { eventId: string }).eventId));
    const process = orderEventsProcessor(publisher, redis.prefix);
    const events = createWorker(ctx, QueueName.orderEvents, async (job) => (jobs.push(job.name), process(job)), { concurrency: 4 });
    try {
      await events.waitUntilReady();
      const ids = Array.from({ length: 5 }, () => randomUUID());
      await prisma.$transaction((tx) =>
        writeOutbox(tx, [
          ...ids.map((id, i) => orderStatusEvent(id, `order-${i}`, "buyer-1")),
          memberMessage("beside-events", "m1", "ORDER_PAID", {}),
        ]),
      );
      const merging = new OutboxRelay({ db: prisma, queue: eventQueues.queue, log, mergeLiveEvents: [QueueName.orderEvents] });
      expect(await merging.drain()).toBe(6);
      await waitFor(() => published.length === 5 && seen.get("msg.beside-events") === 1, "5 events and the message");
      expect(jobs).toEqual(["publish-events"]);
      expect([...published].sort()).toEqual([...ids].sort());

      // the relay repeats itself (its "sent" marks lost): the same rows add the same job id, nothing more
      const unsend = (keys: string[]) => prisma.outbox.updateMany({ where: { id: { in: keys } }, data: { sentAt: null } });
      await unsend(ids.map((id) => `event.${id}`));
      expect(await merging.drain()).toBe(5);
      // … or with other rows (another grouping): a new job, whose events were all published already
      await unsend(ids.slice(0, 2).map((id) => `event.${id}`));
      expect(await merging.drain()).toBe(2);
      await waitFor(() => jobs.length === 2, "the regrouped job");
      await new Promise((r) => setTimeout(r, 300));
      expect([...published].sort()).toEqual([...ids].sort());
    } finally {
      await events.close();
      await eventQueues.close();
      publisher.disconnect();
      subscriber.disconnect();
    }
  });

  it("the periodic relay leaves young rows to their writer's flush (in its request's trace), and takes them once old (their writer died)", async () => {
    const periodic = new OutboxRelay({ db: prisma, queue: queues.queue, log, periodicMinAgeMs: 60_000 });
    const stop = periodic.start(20);
    const pending = (keys: string[]) => prisma.outbox.count({ where: { id: { in: keys.map((k) => `msg.${k}`) }, sentAt: null } });
    try {
      await write(["young"]);
      await sleep(300); // periodic runs go by
      expect(await pending(["young"])).toBe(1);
      expect(seen.has("msg.young")).toBe(false);
      // the writer's flush after its commit takes every pending row, young ones too
      await periodic.flush();
      expect(await pending(["young"])).toBe(0);
      await waitFor(() => seen.get("msg.young") === 1, "the flushed row's job");

      // the writer died before its flush: its rows wait until they are old enough, then the periodic relay sends each once
      const orphans = ["orphan-0", "orphan-1", "orphan-2"];
      await write(orphans);
      await sleep(300);
      expect(await pending(orphans)).toBe(3);
      await prisma.$executeRawUnsafe(
        `UPDATE "Outbox" SET "createdAt" = "createdAt" - interval '61 seconds' WHERE "id" = ANY($1::text[])`,
        orphans.map((k) => `msg.${k}`),
      );
      await waitFor(async () => (await pending(orphans)) === 0, "the periodic relay of the old rows");
      await waitFor(() => orphans.every((k) => seen.get(`msg.${k}`) === 1), "their jobs");
      await sleep(200);
      expect(orphans.map((k) => seen.get(`msg.${k}`))).toEqual([1, 1, 1]);
    } finally {
      await stop();
    }
  });

  it("3,000 rows, 12 relays in parallel: every row relayed by one of them, every job runs exactly once", async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `storm-${i}`);
    for (let i = 0; i < keys.length; i += 500) await write(keys.slice(i, i + 500));
    const counts = await Promise.all(Array.from({ length: 12 }, () => relay().drain()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(await prisma.outbox.count({ where: { id: { startsWith: "msg.storm-" }, sentAt: null } })).toBe(0);
    expect(await prisma.outbox.count({ where: { id: { startsWith: "msg.storm-" }, attempts: { not: 1 } } })).toBe(0);
    await waitFor(() => keys.every((k) => seen.has(`msg.${k}`)), "3,000 jobs", 120_000);
    expect(keys.filter((k) => seen.get(`msg.${k}`) !== 1)).toEqual([]);
  }, 180_000);
});
