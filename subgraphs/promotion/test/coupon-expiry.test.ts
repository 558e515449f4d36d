/**
 * The daily notice of expiring coupons: UNUSED coupons ending within 3 days get one COUPON_EXPIRING
 * member message each, through the promotion outbox and its relay (real PostgreSQL, Redis, BullMQ);
 * a second run, and parallel runs, add none.
 */
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { closeQueueConnections, createQueue, QueueName } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { CouponExpiryNotices, chinaTime } from "../src/services/coupon-expiry.ts";

const HOUR = 3600 * 1000;

describe("coupon expiry notices", () => {
  let db: TestSchema;
  let redis: TestRedis;
  let prisma: PrismaClient;
  let queues: ReturnType<typeof outboxQueues>;
  let notices: CouponExpiryNotices;

  beforeAll(async () => {
    db = await createTestSchema("promotion");
    redis = createTestRedis();
    prisma = new PrismaClient({ adapter: runtimeAdapter(db.url) });
    queues = outboxQueues({ redisUrl: redis.url, redisPrefix: redis.prefix }, [QueueName.memberMessages]);
    notices = new CouponExpiryNotices({ prisma, relay: new OutboxRelay({ db: prisma, queue: queues.queue, log: logger("test") }) });
  }, 60_000);
  afterAll(async () => {
    await queues?.close();
    await closeQueueConnections();
    await prisma?.$disconnect();
    await redis?.cleanup();
    await db?.drop();
  });

  it("once per due coupon, whatever the number of runs", async () => {
    const now = new Date("2026-12-01T02:00:00Z");
    await prisma.couponTemplate.create({
      data: {
        id: "t1",
        name: "满100减10",
        type: "FULL_REDUCTION",
        currency: "CNY",
        threshold: "100",
        amount: "10",
        totalQuantity: 10_000,
        perUserLimit: 1,
      },
    });
    const coupon = (id: string, validTo: Date, status: "UNUSED" | "USED" | "LOCKED" = "UNUSED") => ({
      id,
      templateId: "t1",
      memberId: `m-${id}`,
      status,
      validFrom: new Date(now.getTime() - 100 * HOUR),
      validTo,
    });
    const due = Array.from({ length: 1200 }, (_, i) =>
      coupon(`due-${String(i).padStart(4, "0")}`, new Date(now.getTime() + (1 + (i % 70)) * HOUR)),
    );
    await prisma.coupon.createMany({
      data: [
        ...due,
        coupon("later", new Date(now.getTime() + 74 * HOUR)),
        coupon("expired", new Date(now.getTime() - HOUR)),
        coupon("used", new Date(now.getTime() + 5 * HOUR), "USED"),
      ],
    });
    // the daily job, twice, and three runs at once (a retried job next to the scheduled one)
    expect(await notices.notify(now, 3, 500)).toBe(1200);
    await Promise.all([notices.notify(now), notices.notify(now), notices.notify(new Date(now.getTime() + HOUR))]);
    const rows = await prisma.outbox.findMany({ orderBy: { id: "asc" } });
    expect(rows.map((r) => r.id)).toEqual(due.map((c) => `msg.coupon-expiring.${c.id}`));
    expect(rows.every((r) => r.sentAt !== null)).toBe(true);
    expect(rows[0]!.data).toEqual({
      memberId: "m-due-0000",
      kind: "COUPON_EXPIRING",
      params: { couponId: "due-0000", title: "满100减10", expiresAt: chinaTime(due[0]!.validTo) },
    });
    expect(chinaTime(new Date("2026-12-01T03:00:00Z"))).toBe("2026-12-01 11:00");
    // each is one job in member's queue
    const q = createQueue({ redisUrl: redis.url, redisPrefix: redis.prefix }, QueueName.memberMessages);
    expect(await q.getJobCountByTypes("waiting", "delayed", "active", "completed", "failed")).toBe(1200);
    expect((await q.getJob("msg.coupon-expiring.due-0000"))?.data).toEqual(rows[0]!.data);
  }, 120_000);
});
