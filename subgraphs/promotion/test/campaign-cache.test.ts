/**
 * The live campaigns every quote reads, held in each process between writes (decision 0052): two
 * CampaignService instances on one database and one Redis stand for two promotion processes. What
 * one of them creates or ends is what the other's next read answers (the version counter); a
 * campaign's start and end are seen at their instants inside a held read; a row changed behind the
 * service's back (no version bump) shows once the read's window has passed; without Redis (none
 * given, or down) every read goes to the database.
 */
import { runtimeDb } from "@mallgraph/platform/prisma";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { CampaignService, type CampaignInput } from "../src/services/campaigns.ts";
import type { CatalogPort } from "../src/services/ports.ts";

describe("live campaigns held between writes, kept right by a version in Redis", () => {
  let schema: TestSchema;
  let testRedis: TestRedis;
  let redis: Redis;
  let rt: ReturnType<typeof runtimeDb>;
  let prisma: PrismaClient;
  let a: CampaignService;
  let b: CampaignService;
  /** SQL statements sent on the pool, counted by wrapping it (both services share it). */
  let reads = 0;
  // scope ALL: catalog is never asked
  const catalog = {} as CatalogPort;
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const input = (name: string, startsAt: string, endsAt: string): CampaignInput => ({
    name,
    currency: "CNY",
    tiers: [{ threshold: "300.00", amount: "40.00" }],
    startsAt,
    endsAt,
  });
  const names = async (s: CampaignService, now = new Date(), currency = "CNY") => (await s.live(now, currency)).map((c) => c.name);

  beforeAll(async () => {
    schema = await createTestSchema("promotion");
    testRedis = createTestRedis();
    redis = createRedis(testRedis.url);
    rt = runtimeDb(schema.url, 4);
    prisma = new PrismaClient({ adapter: rt.adapter });
    const query = rt.sql.$queryRawUnsafe.bind(rt.sql);
    const sql = Object.assign(Object.create(rt.sql) as typeof rt.sql, {
      $queryRawUnsafe: (...args: Parameters<typeof query>) => {
        reads++;
        return query(...args);
      },
    });
    const versions = { redis, prefix: testRedis.prefix };
    a = new CampaignService({ prisma, sql, catalog, versions });
    b = new CampaignService({ prisma, sql, catalog, versions });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await rt?.end();
    redis?.disconnect();
    await testRedis?.cleanup();
    await schema?.drop();
  });

  it("a held read answers repeated quotes with no SQL; a campaign one process creates or ends is the other's next answer", async () => {
    await a.create(input("first", at(-60_000), at(3_600_000)), "op");
    expect(await names(b)).toEqual(["first"]);
    const before = reads;
    for (let i = 0; i < 50; i++) expect(await names(b)).toEqual(["first"]);
    expect(reads - before).toBe(0);
    // another currency and all currencies come from the same held read
    expect(await names(b, new Date(), "USD")).toEqual([]);
    expect((await b.live()).map((c) => c.name)).toEqual(["first"]);
    expect(reads - before).toBe(0);

    const second = await a.create(input("second", at(-1000), at(3_600_000)), "op");
    expect(await names(b)).toEqual(["first", "second"]);
    await a.end(second.id);
    expect(await names(b)).toEqual(["first"]);
    expect(await names(a)).toEqual(["first"]);
  });

  it("a held read is filtered at each quote's instant: a campaign starts and ends inside it", async () => {
    const start = Date.now() + 3000;
    await a.create(input("soon", new Date(start).toISOString(), new Date(start + 2000).toISOString()), "op");
    const before = reads;
    expect(await names(b, new Date(start - 10))).toEqual(["first"]);
    expect(await names(b, new Date(start))).toEqual(["first", "soon"]);
    expect(await names(b, new Date(start + 1999))).toEqual(["first", "soon"]);
    expect(await names(b, new Date(start + 2000))).toEqual(["first"]);
    // one read for the new version, then the window held every instant
    expect(reads - before).toBe(1);
    // an instant outside the held window is read from the database, and answers the same
    expect(await names(b, new Date(Date.now() + 3_000_000))).toEqual(["first"]);
    expect(await names(b, new Date(Date.now() - 3_000_000))).toEqual([]);
  });

  it("equals the database's own answer for every instant, cached or not", async () => {
    const plain = new CampaignService({ prisma, sql: rt.sql, catalog });
    for (const offset of [-5000, 0, 2500, 4000, 6000, 9000])
      expect(await b.live(new Date(Date.now() + offset), "CNY")).toEqual(await plain.live(new Date(Date.now() + offset), "CNY"));
  });

  it("a row changed behind the service's back (no version bump) shows once the held read's window has passed", async () => {
    const now = Date.now();
    expect(await names(b, new Date(now))).toEqual(["first"]);
    await prisma.fullReductionCampaign.updateMany({ where: { name: "first" }, data: { endedAt: new Date(now) } });
    // inside the window: the held read (this is the staleness a lost bump costs, at most the window)
    expect(await names(b, new Date(now + 100))).toEqual(["first"]);
    // past it (10 s): read again
    expect(await names(b, new Date(now + 11_000))).toEqual([]);
  });

  it("without a Redis connection every read goes to the database; with Redis down too", async () => {
    const plain = new CampaignService({ prisma, sql: rt.sql, catalog });
    await plain.create(input("direct", at(-1000), at(3_600_000)), "op");
    expect(await names(plain)).toEqual(["direct"]);
    const down = createRedis(testRedis.url);
    down.disconnect();
    const cut = new CampaignService({ prisma, sql: rt.sql, catalog, versions: { redis: down, prefix: testRedis.prefix } });
    expect(await names(cut)).toEqual(["direct"]);
    // its writes still commit (the bump that fails is logged)
    await cut.create(input("while down", at(-1000), at(3_600_000)), "op");
    expect(await names(cut)).toEqual(["direct", "while down"]);
  });
});
