/**
 * Red-envelope grabs reach PostgreSQL through the rains' Redis streams, and a rain that lost its Redis
 * data is rebuilt from there (decision 0032): no envelope paid twice, grabbed + left = total, grabs Redis
 * still had copied first, grabs found nowhere counted as lost. Real PostgreSQL, Redis and BullMQ, a tiny
 * real member subgraph for the marketing account.
 */
import { Decimal } from "@mallgraph/platform/money";
import { scanKeys } from "@mallgraph/platform/redis";
import { outboxAuditEntries, waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RainKeys } from "../src/services/rain-shared.ts";
import { ADMIN, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($input: RedEnvelopeRainInput!) { adminCreateRedEnvelopeRain(input: $input) { id } }`;
const RECONCILE = `mutation($r: ID) { adminReconcileRedEnvelopeRains(rainId: $r) { rains grabs copiedFromRedis lost remainingShares } }`;
const iso = (ms: number) => new Date(ms).toISOString();
const sum = (xs: Array<string | null | undefined>) => xs.reduce((s, x) => s.plus(x ?? 0), new Decimal(0));

async function createRain(h: Harness, totalAmount: string, shares: number): Promise<string> {
  const r = await h.gql(
    CREATE,
    {
      input: { title: "雨", totalAmount, currency: "CNY", shares, startsAt: iso(Date.now() - 1000), endsAt: iso(Date.now() + 3600_000) },
    },
    ADMIN,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.adminCreateRedEnvelopeRain.id;
}

/** Every Redis key of a rain: what a Redis that restarted empty no longer has. */
async function wipe(h: Harness, rainId: string): Promise<number> {
  const keys = await scanKeys(h.sg.services.redis, `${new RainKeys(h.redis.prefix).meta(rainId)}*`);
  if (keys.length) await h.sg.services.redis.del(...keys);
  return keys.length;
}

describe("a rain that lost its Redis data, with the workers running", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });
  const credited = (rainId: string) => h.sg.services.prisma.redEnvelopeGrab.count({ where: { rainId, creditedAt: { not: null } } });

  it("is rebuilt from PostgreSQL: members who grabbed keep their share (never paid twice), the rest is split again, grabbed + refund = total", async () => {
    const rain = h.sg.services.rain;
    const id = await createRain(h, "500.00", 200);
    const first = await Promise.all(Array.from({ length: 120 }, (_, i) => rain.grab(id, `rb-${i}`)));
    expect(first.every((g) => g.code === "OK")).toBe(true);
    await waitFor(async () => (await credited(id)) === 120, "120 grabs recorded and credited", 120_000);
    const rows = await h.sg.services.prisma.redEnvelopeGrab.findMany({ where: { rainId: id } });
    expect(rows.map((r) => r.seq).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));

    expect(await wipe(h, id)).toBeGreaterThan(0);
    expect((await rain.grab(id, "meanwhile")).code).toBe("NOT_ONLINE");
    const report = await rain.reconcileIfLost();
    console.log(`[reconcile] wiped every key of a rain (200 shares, 120 grabbed and credited); rebuilt: ${JSON.stringify(report)}`);
    expect(report).toEqual({ rains: 1, grabs: 120, copiedFromRedis: 0, lost: 0, remainingShares: 80 });
    expect(await rain.reconcileIfLost()).toBeNull();
    // grabbing again answers the share each member got (nothing paid twice)
    const again = await Promise.all(Array.from({ length: 120 }, (_, i) => rain.grab(id, `rb-${i}`)));
    expect(again.every((g, i) => g.code === "ALREADY_GRABBED" && g.amount === first[i]!.amount)).toBe(true);
    // the rest: exactly 80 shares for 100 newcomers
    const later = await Promise.all(Array.from({ length: 100 }, (_, i) => rain.grab(id, `late-${i}`)));
    expect(later.filter((g) => g.code === "OK").length).toBe(80);
    expect(later.filter((g) => g.code === "SOLD_OUT").length).toBe(20);
    await waitFor(async () => (await credited(id)) === 200, "200 credited", 120_000);
    const closed = await rain.close(id);
    expect(closed).toMatchObject({ status: "CLOSED", grabbedCount: 200 });
    const grabbed = sum([...first, ...later].map((g) => g.amount));
    expect(new Decimal(closed.grabbedAmount!.toString()).toFixed(2)).toBe(grabbed.toFixed(2));
    expect(grabbed.plus(closed.refundAmount!.toString()).toFixed(2)).toBe("500.00");
    expect(closed.refundAmount!.toString()).toBe("0");
    // each member paid exactly their share, once
    const paid = [...h.fake.balances.entries()].filter(([k]) => k.startsWith("rb-") || k.startsWith("late-"));
    expect(paid.length).toBe(200);
    expect(sum(paid.map(([, v]) => v.toString())).toFixed(2)).toBe("500.00");
  });

  it("closing a rain that lost its Redis data rebuilds it first: the refund counts what PostgreSQL recorded", async () => {
    const rain = h.sg.services.rain;
    const id = await createRain(h, "30.00", 30);
    const grabs = await Promise.all(Array.from({ length: 12 }, (_, i) => rain.grab(id, `cl-${i}`)));
    await waitFor(async () => (await credited(id)) === 12, "12 credited");
    await wipe(h, id);
    const closed = await rain.close(id);
    const grabbed = sum(grabs.map((g) => g.amount));
    expect(closed.grabbedCount).toBe(12);
    expect(new Decimal(closed.grabbedAmount!.toString()).toFixed(2)).toBe(grabbed.toFixed(2));
    expect(grabbed.plus(closed.refundAmount!.toString()).toFixed(2)).toBe("30.00");
  });
});

describe("a rain reconciled by an operator while its grabs wait in the stream", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("records what Redis still had first, counts a grab found nowhere as lost; needs redis:reconcile and is audited", async () => {
    const rain = h.sg.services.rain;
    const id = await createRain(h, "10.00", 10);
    const grabs = await Promise.all(Array.from({ length: 9 }, (_, i) => rain.grab(id, `op-${i}`)));
    expect(grabs.every((g) => g.code === "OK")).toBe(true);
    expect(await h.sg.services.prisma.redEnvelopeGrab.count({ where: { rainId: id } })).toBe(0);
    // Redis loses grab number 5 entirely: its place in the grabs, its stream entry, and the share is back
    const k = new RainKeys(h.redis.prefix);
    const all = await h.sg.services.redis.hgetall(k.grabs(id));
    const [victim, value] = Object.entries(all).find(([, v]) => v.endsWith(":5"))!;
    const minor = value.split(":")[0]!;
    await h.sg.services.redis.hdel(k.grabs(id), victim);
    const entry = ((await h.sg.services.redis.xrange(k.stream(id), "-", "+")) as Array<[string, string[]]>).find(([, f]) =>
      f.includes(victim),
    )!;
    await h.sg.services.redis.xdel(k.stream(id), entry[0]);
    await h.sg.services.redis.rpush(k.shard(id, 0), minor);
    await h.sg.services.redis.hincrby(k.meta(id), "remaining", 1);
    await h.sg.services.redis.hincrby(k.meta(id), "grabbedMinor", -Number(minor));

    const refused = await h.gql(RECONCILE, { r: id }, { kind: "admin", id: "op-2", permissions: ["lottery:write"] });
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const r = await h.gql(RECONCILE, { r: id }, { kind: "admin", id: "op-1", permissions: ["redis:reconcile"] });
    expect(r.errors).toBeUndefined();
    console.log(
      `[reconcile] 9 grabs in the stream only, number 5 lost from Redis; operator's run: ${JSON.stringify(r.data.adminReconcileRedEnvelopeRains)}`,
    );
    expect(r.data.adminReconcileRedEnvelopeRains).toEqual({ rains: 1, grabs: 8, copiedFromRedis: 8, lost: 1, remainingShares: 2 });
    const audited = await outboxAuditEntries(h.sg.services.prisma, "adminReconcileRedEnvelopeRains");
    expect(audited.at(-1)).toMatchObject({ actorKind: "admin", actorId: "op-1", args: { rainId: id } });
    const rows = await h.sg.services.prisma.redEnvelopeGrab.findMany({ where: { rainId: id } });
    expect(rows.map((g) => g.memberId).sort()).toEqual(
      grabs
        .map((_, i) => `op-${i}`)
        .filter((m) => m !== victim)
        .sort(),
    );
    // the lost member was never paid: they may grab again; the others keep theirs
    expect((await rain.grab(id, victim)).code).toBe("OK");
    expect((await rain.grab(id, "op-0")).code).toBe("ALREADY_GRABBED");
    const closed = await rain.close(id);
    expect(new Decimal(closed.grabbedAmount!.toString()).plus(closed.refundAmount!.toString()).toFixed(2)).toBe("10.00");
    expect(closed.grabbedCount).toBe(9);
  });
});
