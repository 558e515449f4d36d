/**
 * Draws, points and sign-in against real PostgreSQL, Redis and BullMQ: the participation order and
 * its quota, the rule chain (blacklist → weight → default), the rule tree (lock → stock →
 * fallback), award delivery and stock sync jobs.
 */
import { randomUUID } from "node:crypto";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedLottery, DEMO_ACTIVITY } from "../src/seed.ts";
import type { AwardDef } from "../src/services/setup.ts";
import { member, startHarness, type Harness } from "./harness.ts";

const DRAW = `mutation($a: ID!, $k: String!) { draw(activityId: $a, idempotencyKey: $k) { code award { id name } orderId } }`;

let h: Harness;
const DAY = 24 * 3600_000;

async function activityWith(
  awards: AwardDef[],
  opts: {
    fallback: string;
    blacklistAward?: string;
    blacklist?: string[];
    weightRules?: Array<{ minPointsSpent: number; awards: string[] }>;
    quotaDay?: number;
    quotaMonth?: number;
    quotaTotal?: number;
    pointsPerDraw?: number;
    state?: "DRAFT" | "ONLINE";
    startsAt?: Date;
  } = { fallback: "" },
) {
  const name = `s-${randomUUID()}`;
  const strategy = await h.sg.services.setup.saveStrategy({ name, awards, ...opts });
  const activity = await h.sg.services.setup.saveActivity({
    name: `a-${name}`,
    strategyId: strategy.id,
    startsAt: opts.startsAt ?? new Date(Date.now() - DAY),
    endsAt: new Date(Date.now() + 7 * DAY),
    state: opts.state ?? "ONLINE",
    quotaDay: opts.quotaDay,
    quotaMonth: opts.quotaMonth,
    quotaTotal: opts.quotaTotal,
    pointsPerDraw: opts.pointsPerDraw,
  });
  const byName = Object.fromEntries(strategy.awards.map((a) => [a.name, a]));
  return { activity, strategy, byName };
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("draw", () => {
  it("draws through GraphQL; the same idempotency key gives the same order and result and takes quota once", async () => {
    const { activity } = await activityWith(
      [
        { name: "small", kind: "POINTS", points: 5, rate: "0.5000" },
        { name: "big", kind: "POINTS", points: 50, rate: "0.5000" },
      ],
      { fallback: "small" },
    );
    const first = await h.gql(DRAW, { a: activity.id, k: "k-1" }, member("alice"));
    expect(first.errors).toBeUndefined();
    expect(first.data.draw.code).toBe("OK");
    expect(["small", "big"]).toContain(first.data.draw.award.name);
    const again = await Promise.all(Array.from({ length: 10 }, () => h.gql(DRAW, { a: activity.id, k: "k-1" }, member("alice"))));
    for (const r of again) expect(r.data.draw).toEqual(first.data.draw);
    const acc = await h.sg.services.prisma.quotaAccount.findUniqueOrThrow({
      where: { activityId_memberId: { activityId: activity.id, memberId: "alice" } },
    });
    expect(acc.totalUsed).toBe(1);
    expect(await h.sg.services.prisma.participationOrder.count({ where: { activityId: activity.id } })).toBe(1);
    // The award is delivered by the job: points credited once.
    await waitFor(async () => (await h.sg.services.points.account("alice")).balance > 0, "points delivered");
    const points = first.data.draw.award.name === "big" ? 50 : 5;
    expect((await h.sg.services.points.account("alice")).balance).toBe(points);
    expect(await h.sg.services.delivery.run(first.data.draw.orderId)).toBe("ALREADY_DELIVERED");
    expect((await h.sg.services.points.account("alice")).balance).toBe(points);
    // the member is told once: a PRIZE_DELIVERED message in the lottery outbox
    const told = await h.sg.services.prisma.outbox.findMany({
      where: { id: { startsWith: "msg.prize." }, data: { path: ["memberId"], equals: "alice" } },
    });
    expect(told.map((m) => [m.id, m.data])).toEqual([
      [
        `msg.prize.${first.data.draw.orderId}`,
        {
          memberId: "alice",
          kind: "PRIZE_DELIVERED",
          params: { orderId: first.data.draw.orderId, memberId: "alice", award: first.data.draw.award.name, kind: "POINTS" },
        },
      ],
    ]);
    const mine = await h.gql(
      `query($a: ID) { myDraws(activityId: $a) { id activityId award { name } delivery } }`,
      { a: activity.id },
      member("alice"),
    );
    expect(mine.data.myDraws).toEqual([
      { id: first.data.draw.orderId, activityId: activity.id, award: { name: first.data.draw.award.name }, delivery: "DELIVERED" },
    ]);
    expect((await h.gql(`{ myDraws { id } }`, {}, member("nobody"))).data.myDraws).toEqual([]);
    expect((await h.gql(`{ myDraws(limit: 1000) { id } }`, {}, member("alice"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("parallel draws with distinct keys take the day quota exactly (5 of 30)", async () => {
    const { activity } = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], {
      fallback: "only",
      quotaDay: 5,
      quotaMonth: 100,
      quotaTotal: 1000,
    });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => h.sg.services.draws.draw("bob", activity.id, `k-${i}`)));
    expect(rs.filter((r) => r.code === "OK").length).toBe(5);
    expect(rs.filter((r) => r.code === "QUOTA_EXCEEDED").length).toBe(25);
    const acc = await h.sg.services.prisma.quotaAccount.findUniqueOrThrow({
      where: { activityId_memberId: { activityId: activity.id, memberId: "bob" } },
    });
    expect([acc.totalUsed, acc.monthUsed, acc.dayUsed]).toEqual([5, 5, 5]);
    expect(await h.sg.services.prisma.participationOrder.count({ where: { activityId: activity.id } })).toBe(5);
    // The next day the day quota is fresh; the total quota still counts.
    const draws = h.sg.services.draws;
    const real = draws.now;
    try {
      draws.now = () => Date.now() + DAY;
      expect((await draws.draw("bob", activity.id, "next-day")).code).toBe("OK");
    } finally {
      draws.now = real;
    }
  });

  it("month and total quotas are enforced too", async () => {
    const { activity } = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only", quotaTotal: 3 });
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => h.sg.services.draws.draw("carol", activity.id, `k-${i}`)));
    expect(rs.filter((r) => r.code === "OK").length).toBe(3);
    const m = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only", quotaMonth: 2 });
    const rm = await Promise.all(Array.from({ length: 6 }, (_, i) => h.sg.services.draws.draw("carol", m.activity.id, `k-${i}`)));
    expect(rm.filter((r) => r.code === "OK").length).toBe(2);
  });

  it("NOT_ONLINE for a draft or not yet started activity; NOT_FOUND and BAD_USER_INPUT write nothing", async () => {
    const draft = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only", state: "DRAFT" });
    expect((await h.sg.services.draws.draw("dave", draft.activity.id, "k")).code).toBe("NOT_ONLINE");
    expect(
      (await h.gql(`query($id: ID!) { lotteryActivity(id: $id) { id } }`, { id: draft.activity.id }, member("dave"))).data.lotteryActivity,
    ).toBeNull();
    const ended = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only" });
    const draws = h.sg.services.draws;
    const real = draws.now;
    try {
      draws.now = () => Date.now() + 8 * DAY;
      expect((await draws.draw("dave", ended.activity.id, "k")).code).toBe("NOT_ONLINE");
    } finally {
      draws.now = real;
    }
    const future = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], {
      fallback: "only",
      startsAt: new Date(Date.now() + DAY / 2),
    });
    expect((await h.gql(DRAW, { a: future.activity.id, k: "k" }, member("dave"))).data.draw).toEqual({
      code: "NOT_ONLINE",
      award: null,
      orderId: null,
    });
    expect((await h.gql(DRAW, { a: randomUUID(), k: "k" }, member("dave"))).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await h.gql(DRAW, { a: future.activity.id, k: "" }, member("dave"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await h.gql(DRAW, { a: future.activity.id, k: "k" })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await h.sg.services.prisma.participationOrder.count({ where: { memberId: "dave" } })).toBe(0);
    expect(await h.sg.services.prisma.quotaAccount.count({ where: { memberId: "dave" } })).toBe(0);
  });
});

describe("rules", () => {
  it("blacklist: a listed member always gets the consolation award", async () => {
    const { activity, byName } = await activityWith(
      [
        { name: "thanks", kind: "NONE", rate: "0.0000" },
        { name: "gold", kind: "POINTS", points: 100, rate: "1.0000" },
      ],
      { fallback: "thanks", blacklistAward: "thanks", blacklist: ["mallory"] },
    );
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => h.sg.services.draws.draw("mallory", activity.id, `k-${i}`)));
    expect(rs.every((r) => r.award!.id === byName.thanks!.id && r.rule === "blacklist")).toBe(true);
    expect((await h.sg.services.draws.draw("honest", activity.id, "k")).award!.id).toBe(byName.gold!.id);
  });

  it("weight: after spending enough points only the rule's subset can be won", async () => {
    const { activity, byName } = await activityWith(
      [
        { name: "common", kind: "POINTS", points: 1, rate: "0.9000" },
        { name: "rare", kind: "POINTS", points: 10, rate: "0.0500" },
        { name: "epic", kind: "POINTS", points: 20, rate: "0.0500" },
      ],
      { fallback: "common", weightRules: [{ minPointsSpent: 100, awards: ["rare", "epic"] }] },
    );
    const before = await Promise.all(Array.from({ length: 40 }, (_, i) => h.sg.services.draws.draw("whale", activity.id, `b-${i}`)));
    expect(before.some((r) => r.award!.id === byName.common!.id)).toBe(true);
    expect(before.every((r) => r.rule === "default")).toBe(true);
    await h.sg.services.points.earn("whale", 150, "test", "whale-earn");
    expect((await h.sg.services.points.spend("whale", 100, "test", "whale-spend")).code).toBe("OK");
    const after = await Promise.all(Array.from({ length: 40 }, (_, i) => h.sg.services.draws.draw("whale", activity.id, `a-${i}`)));
    expect(after.every((r) => r.award!.id !== byName.common!.id && r.rule === "weight:100")).toBe(true);
  });

  it("lock: an award unlocks after N draws by the member; before that the fallback is given", async () => {
    const { activity, byName } = await activityWith(
      [
        { name: "consolation", kind: "POINTS", points: 1, rate: "0.0000" },
        { name: "locked-prize", kind: "POINTS", points: 100, rate: "1.0000", lockAfterDraws: 3 },
      ],
      { fallback: "consolation" },
    );
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push((await h.sg.services.draws.draw("erin", activity.id, `k-${i}`)).award!.name);
    expect(names).toEqual(["consolation", "consolation", "consolation", "locked-prize", "locked-prize"]);
    expect(byName["locked-prize"]).toBeTruthy();
  });

  it("stock: 1,000 parallel draws on an award with stock 10 → exactly 10 won, Redis stock never below zero, synced to PostgreSQL", async () => {
    const { activity, byName } = await activityWith(
      [
        { name: "consolation", kind: "POINTS", points: 1, rate: "0.0000" },
        { name: "phone", kind: "GOODS", skuId: "sku-phone", rate: "1.0000", stock: 10 },
      ],
      { fallback: "consolation" },
    );
    const rs = await Promise.all(Array.from({ length: 1000 }, (_, i) => h.sg.services.draws.draw(`crowd-${i}`, activity.id, "k")));
    expect(rs.every((r) => r.code === "OK")).toBe(true);
    expect(rs.filter((r) => r.award!.id === byName.phone!.id).length).toBe(10);
    expect(rs.filter((r) => r.award!.id === byName.consolation!.id).length).toBe(990);
    expect(await h.sg.services.redis.get(h.sg.services.draws.stockKey(byName.phone!.id))).toBe("0");
    expect(await h.sg.services.prisma.participationOrder.count({ where: { activityId: activity.id, awardId: byName.phone!.id } })).toBe(10);
    await waitFor(
      async () => (await h.sg.services.prisma.award.findUniqueOrThrow({ where: { id: byName.phone!.id } })).stock === 0,
      "stock synced to PostgreSQL",
    );
    // Redis loses the counter: re-armed from the wins recorded in PostgreSQL, still no 11th phone.
    await h.sg.services.redis.del(h.sg.services.draws.stockKey(byName.phone!.id));
    h.sg.services.draws.disarm();
    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => h.sg.services.draws.draw(`late-${i}`, activity.id, "k")));
    expect(more.every((r) => r.award!.id === byName.consolation!.id)).toBe(true);
    expect(await h.sg.services.redis.get(h.sg.services.draws.stockKey(byName.phone!.id))).toBe("0");
    // The winners have no address yet: their prizes wait for one (delivery.test.ts covers claimPrize).
    await waitFor(
      async () =>
        (await h.sg.services.prisma.participationOrder.count({
          where: { activityId: activity.id, awardId: byName.phone!.id, delivery: "AWAITING_ADDRESS" },
        })) === 10,
      "10 prizes awaiting an address",
    );
  }, 240_000);
});

describe("points and sign-in", () => {
  it("earn and spend are exact and idempotent per reference; parallel spends never overdraw", async () => {
    const p = h.sg.services.points;
    await p.earn("frank", 100, "test", "f-1");
    await p.earn("frank", 100, "test", "f-1");
    expect((await p.account("frank")).balance).toBe(100);
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => p.spend("frank", 10, "test", `s-${i}`)));
    expect(rs.filter((r) => r.code === "OK").length).toBe(10);
    expect(rs.filter((r) => r.code === "INSUFFICIENT_POINTS").length).toBe(20);
    const okRef = `s-${rs.findIndex((r) => r.code === "OK")}`;
    expect((await p.spend("frank", 10, "test", okRef)).code).toBe("OK"); // a replay, even with no balance left
    expect((await p.account("frank")).balance).toBe(0);
    const acc = await p.account("frank");
    expect([acc.balance, acc.earned, acc.spent]).toEqual([0, 100, 100]);
    expect(await h.sg.services.prisma.pointsLedger.count({ where: { memberId: "frank" } })).toBe(11);
    await expect(p.earn("frank", 0, "x", "bad")).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
    await expect(p.spend("frank", 1.5, "x", "bad2")).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
  });

  it("signIn gives points once per calendar day (parallel too)", async () => {
    const SIGN = `mutation { signIn { code points draws day account { balance } } }`;
    const rs = await Promise.all(Array.from({ length: 10 }, () => h.gql(SIGN, {}, member("gina"))));
    const codes = rs.map((r) => r.data.signIn.code);
    expect(codes.filter((c) => c === "OK").length).toBe(1);
    expect(codes.filter((c) => c === "ALREADY_SIGNED_IN").length).toBe(9);
    expect((await h.gql(`{ myPoints { balance earned spent } }`, {}, member("gina"))).data.myPoints).toEqual({
      balance: 10,
      earned: 10,
      spent: 0,
    });
    expect((await h.gql(SIGN)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("bonus draws", () => {
  const EXCHANGE = `mutation($a: ID!, $n: Int!, $k: String!) { exchangePointsForDraws(activityId: $a, count: $n, idempotencyKey: $k) { code bonusDraws account { balance spent } } }`;

  it("points buy bonus draws (idempotent per key, never overdrawn), used once the day quota is gone", async () => {
    const { activity } = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], {
      fallback: "only",
      quotaDay: 2,
      pointsPerDraw: 30,
    });
    await h.sg.services.points.earn("ivan", 100, "test", "ivan-earn");
    const r1 = await h.gql(EXCHANGE, { a: activity.id, n: 2, k: "x1" }, member("ivan"));
    expect(r1.data.exchangePointsForDraws).toEqual({ code: "OK", bonusDraws: 2, account: { balance: 40, spent: 60 } });
    const again = await h.gql(EXCHANGE, { a: activity.id, n: 2, k: "x1" }, member("ivan"));
    expect(again.data.exchangePointsForDraws).toEqual(r1.data.exchangePointsForDraws);
    const short = await h.gql(EXCHANGE, { a: activity.id, n: 2, k: "x2" }, member("ivan"));
    expect(short.data.exchangePointsForDraws).toEqual({ code: "INSUFFICIENT_POINTS", bonusDraws: 2, account: { balance: 40, spent: 60 } });
    expect((await h.gql(EXCHANGE, { a: activity.id, n: 0, k: "x3" }, member("ivan"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    // 2 regular + 2 bonus draws, in parallel with 6 more attempts.
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => h.sg.services.draws.draw("ivan", activity.id, `d-${i}`)));
    expect(rs.filter((r) => r.code === "OK").length).toBe(4);
    const acc = await h.sg.services.prisma.quotaAccount.findUniqueOrThrow({
      where: { activityId_memberId: { activityId: activity.id, memberId: "ivan" } },
    });
    expect([acc.dayUsed, acc.bonus]).toEqual([4, 0]);
    // An activity without a points price refuses the exchange.
    const free = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only" });
    expect((await h.gql(EXCHANGE, { a: free.activity.id, n: 1, k: "y" }, member("ivan"))).errors?.[0]?.extensions?.code).toBe(
      "BAD_USER_INPUT",
    );
  });

  it("signIn naming an activity gives one bonus draw instead of points, once a day", async () => {
    const { activity } = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only", quotaTotal: 1 });
    const SIGN = `mutation($a: ID) { signIn(activityId: $a) { code points draws } }`;
    expect((await h.gql(SIGN, { a: activity.id }, member("judy"))).data.signIn).toEqual({ code: "OK", points: 0, draws: 1 });
    expect((await h.gql(SIGN, { a: activity.id }, member("judy"))).data.signIn).toEqual({ code: "ALREADY_SIGNED_IN", points: 0, draws: 0 });
    expect((await h.gql(SIGN, {}, member("judy"))).data.signIn.code).toBe("ALREADY_SIGNED_IN");
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => h.sg.services.draws.draw("judy", activity.id, `d-${i}`)));
    expect(rs.filter((r) => r.code === "OK").length).toBe(2);
    const draft = await activityWith([{ name: "only", kind: "NONE", rate: "1.0000" }], { fallback: "only", state: "DRAFT" });
    expect((await h.gql(SIGN, { a: draft.activity.id }, member("kim"))).data.signIn.code).toBe("NOT_ONLINE");
    expect(await h.sg.services.prisma.signIn.count({ where: { memberId: "kim" } })).toBe(0);
    // The next day signs in again.
    const reb = h.sg.services.rebates as any;
    const real = reb.opts.now;
    try {
      reb.opts.now = () => Date.now() + DAY;
      expect((await h.gql(SIGN, {}, member("judy"))).data.signIn).toEqual({ code: "OK", points: 10, draws: 0 });
    } finally {
      reb.opts.now = real;
    }
  });
});

describe("seed", () => {
  it("is idempotent and gives a drawable activity with 5 awards", async () => {
    await seedLottery(h.sg.services.prisma);
    await seedLottery(h.sg.services.prisma);
    const act = await h.sg.services.prisma.activity.findUniqueOrThrow({ where: { name: DEMO_ACTIVITY } });
    expect(await h.sg.services.prisma.award.count({ where: { strategyId: act.strategyId } })).toBe(5);
    const q = await h.gql(
      `query($id: ID!) { lotteryActivity(id: $id) { name state awards { name kind } myQuota { day usedDay } } }`,
      { id: act.id },
      member("henry"),
    );
    expect(q.data.lotteryActivity.awards.length).toBe(5);
    expect((await h.gql(DRAW, { a: act.id, k: "demo" }, member("henry"))).data.draw.code).toBe("OK");
    const q2 = await h.gql(`query($id: ID!) { lotteryActivity(id: $id) { myQuota { day usedDay } } }`, { id: act.id }, member("henry"));
    expect(q2.data.lotteryActivity.myQuota).toEqual({ day: 3, usedDay: 1 });
  });
});
