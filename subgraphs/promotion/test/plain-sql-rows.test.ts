/**
 * The rows promotion's hand-written SQL writes — the seckill reservations' copy (decision 0036) and
 * the job outbox (platform) — read back through Prisma exactly as the rows Prisma's own create makes
 * from the same values, on a database whose time zone is not UTC.
 *
 * Prisma's DateTime is `timestamp(3)` holding UTC, and Prisma fills `@default(now())` itself. The SQL
 * leaves such columns to their database default (CURRENT_TIMESTAMP) or sets them with now(): in a
 * `timestamp` column that is the session's local time. Every runtime connection therefore runs with
 * TimeZone=UTC (packages/platform/src/prisma.ts pgConfig); without it the copy's `copiedAt` and
 * `updatedAt` and the outbox's `createdAt` were hours off here.
 */
import { logger } from "@mallgraph/platform/log";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { runtimeDb } from "@mallgraph/platform/prisma";
import { QueueName } from "@mallgraph/platform/queue";
import { createTestDatabase, randomId, type TestDatabase } from "@mallgraph/platform/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { CampaignService } from "../src/services/campaigns.ts";
import { SeckillCopy, type ReservationSnapshot } from "../src/services/seckill-copy.ts";

/** Not UTC, and far from it: a column written in local time is 8 hours off. */
const ZONE = "Asia/Shanghai";

describe(`promotion's plain-SQL rows read like Prisma's (database time zone ${ZONE})`, () => {
  let db: TestDatabase;
  let rt: ReturnType<typeof runtimeDb>;
  let prisma: PrismaClient;
  /** The database's clock as an instant (timestamptz: right whatever the session's zone). */
  const dbNow = async () => {
    const [r] = await rt.sql.$queryRawUnsafe<Array<{ now: Date }>>(`SELECT now() AS "now"`);
    return r!.now.getTime();
  };
  const near = (at: Date, now: number) => Math.abs(at.getTime() - now) < 60_000;

  beforeAll(async () => {
    db = await createTestDatabase(["promotion"]);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`ALTER DATABASE "${db.name}" SET timezone TO '${ZONE}'`);
    await admin.end();
    const u = new URL(db.url);
    u.searchParams.set("schema", "promotion");
    rt = runtimeDb(u.toString(), 2);
    prisma = new PrismaClient({ adapter: rt.adapter });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await rt?.end();
    await db?.drop();
  });

  it("a reservation copied by SeckillCopy.write equals one Prisma creates from the same snapshot, times included", async () => {
    const copy = new SeckillCopy(prisma, rt.sql, logger("test"));
    const snap = (id: string, version: number): ReservationSnapshot => ({
      id,
      sessionId: "s1",
      skuId: "sku-1",
      buyerId: "buyer-1",
      quantity: 2,
      unitPrice: "12.34",
      currency: "CNY",
      status: "PENDING",
      settled: false,
      orderId: null,
      orderStatus: null,
      home: 1,
      stockShard: 1,
      seq: 7,
      idemKey: "idem",
      version,
      createdMs: Date.UTC(2026, 10, 30, 12, 0, 0, 123),
    });
    const viaSql = `0.1.${randomId()}`;
    const viaPrisma = `0.1.${randomId()}`;
    expect(await copy.write([snap(viaSql, 1)])).toBe(1);
    const s = snap(viaPrisma, 1);
    // the columns the statement names, the rest left to Prisma (its defaults)
    await prisma.seckillReservation.create({
      data: {
        id: s.id,
        sessionId: s.sessionId,
        skuId: s.skuId,
        buyerId: s.buyerId,
        quantity: s.quantity,
        unitPrice: s.unitPrice,
        currency: s.currency,
        status: s.status,
        settled: s.settled,
        orderId: s.orderId,
        orderStatus: s.orderStatus,
        homeShard: s.home,
        stockShard: s.stockShard,
        seq: s.seq,
        idemKey: s.idemKey,
        version: s.version,
        reservedAt: new Date(s.createdMs),
      },
    });
    const now = await dbNow();
    const a = await prisma.seckillReservation.findUniqueOrThrow({ where: { id: viaSql } });
    const b = await prisma.seckillReservation.findUniqueOrThrow({ where: { id: viaPrisma } });
    const { id: _a, copiedAt: ca, updatedAt: ua, ...restA } = a;
    const { id: _b, copiedAt: cb, updatedAt: ub, ...restB } = b;
    expect(restA).toEqual(restB);
    expect(a.reservedAt.toISOString()).toBe("2026-11-30T12:00:00.123Z");
    for (const [name, at] of Object.entries({ copiedAt: ca, updatedAt: ua, "Prisma's copiedAt": cb, "Prisma's updatedAt": ub }))
      expect(near(at, now), `${name} ${at.toISOString()} is the database's now (${new Date(now).toISOString()})`).toBe(true);

    // a newer version: the statement's ON CONFLICT sets "updatedAt" = CURRENT_TIMESTAMP
    expect(await copy.write([{ ...snap(viaSql, 2), status: "ORDERED", orderId: "o-1" }])).toBe(0);
    const moved = await prisma.seckillReservation.findUniqueOrThrow({ where: { id: viaSql } });
    expect([moved.status, moved.orderId, moved.version]).toEqual(["ORDERED", "o-1", 2]);
    expect(near(moved.updatedAt, await dbNow()), `updatedAt ${moved.updatedAt.toISOString()} after the update`).toBe(true);
  });

  it("an outbox row written by writeOutbox equals one Prisma creates, createdAt included", async () => {
    const viaSql = `t-${randomId()}`;
    const viaPrisma = `t-${randomId()}`;
    const data = { orderId: "o-1", amount: "1.00" };
    await writeOutbox(rt.sql, [{ key: viaSql, queue: QueueName.memberMessages, name: "x", data }]);
    await prisma.outbox.create({ data: { id: viaPrisma, queue: QueueName.memberMessages, name: "x", data } });
    const now = await dbNow();
    const a = await prisma.outbox.findUniqueOrThrow({ where: { id: viaSql } });
    const b = await prisma.outbox.findUniqueOrThrow({ where: { id: viaPrisma } });
    const { id: _a, createdAt: ca, ...restA } = a;
    const { id: _b, createdAt: cb, ...restB } = b;
    expect(restA).toEqual(restB);
    expect(near(ca, now), `createdAt ${ca.toISOString()} is the database's now (${new Date(now).toISOString()})`).toBe(true);
    expect(near(cb, now)).toBe(true);
  });

  it("the live campaigns every quote reads with plain SQL equal Prisma's findMany of the same rows, types included", async () => {
    const at = (h: number) => new Date(Date.now() + h * 3600_000);
    const base = { currency: "CNY", tiers: [{ threshold: "300.00", amount: "40.00" }], createdBy: "op" };
    for (const [name, startsAt, endsAt, endedAt] of [
      ["live, all", at(-1), at(24), null],
      ["live, SPUs", at(-2), at(48), null],
      ["ended early", at(-1), at(24), at(-0.5)],
      ["not yet", at(1), at(24), null],
    ] as const)
      await prisma.fullReductionCampaign.create({
        data: {
          ...base,
          id: `c-${randomId()}`,
          name,
          startsAt,
          endsAt,
          endedAt,
          ...(name === "live, SPUs" ? { scope: "SPUS" as const, scopeIds: ["spu-1", "spu-2"] } : {}),
        },
      });
    // catalog is not called by live()
    const campaigns = new CampaignService({ prisma, sql: rt.sql, catalog: undefined as never });
    const now = new Date();
    const viaSql = await campaigns.live(now, "CNY");
    const viaPrisma = await prisma.fullReductionCampaign.findMany({
      where: { endedAt: null, startsAt: { lte: now }, endsAt: { gt: now }, currency: "CNY" },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    expect(viaSql.map((c) => c.name)).toEqual(["live, all", "live, SPUs"]);
    expect(viaSql).toEqual(viaPrisma);
  });
});
