/**
 * Red-envelope rain against real PostgreSQL, Redis and BullMQ, with a tiny real member subgraph
 * (the marketing account: budget freeze, grants, release) standing in for member.
 */
import { eventChannel } from "@mallgraph/platform/events";
import { Decimal } from "@mallgraph/platform/money";
import { createRedis, scanKeys } from "@mallgraph/platform/redis";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RainKeys } from "../src/services/rain-shared.ts";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($input: RedEnvelopeRainInput!) { adminCreateRedEnvelopeRain(input: $input) { id status shares remainingShares totalAmount currency } }`;
const GRAB = `mutation($rainId: ID!) { grabRedEnvelope(rainId: $rainId) { code amount currency } }`;
const EVENT = `query($rainId: ID!, $eventId: ID!) { redEnvelopeRainEvent(rainId: $rainId, eventId: $eventId) { rainId remainingShares lastGrab { amount memberId at } } }`;

let h: Harness;
/** The rain keys of this suite's Redis prefix. */
const keys = () => new RainKeys(h.redis.prefix);
const iso = (ms: number) => new Date(ms).toISOString();
const sum = (xs: Array<string | null | undefined>) => xs.reduce((s, x) => s.plus(x ?? 0), new Decimal(0));

async function createRain(
  input: Partial<{ title: string; totalAmount: string; currency: string; shares: number; startsAt: string; endsAt: string }> = {},
) {
  const r = await h.gql(
    CREATE,
    {
      input: {
        title: "双11 红包雨",
        totalAmount: "100.00",
        currency: "CNY",
        shares: 50,
        startsAt: iso(Date.now() - 1000),
        endsAt: iso(Date.now() + 3600_000),
        ...input,
      },
    },
    ADMIN,
  );
  return r;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("creating a rain", () => {
  it("stores the campaign and its shares, summing exactly to the total", async () => {
    const r = await createRain({ totalAmount: "88.88", shares: 1234 });
    expect(r.errors).toBeUndefined();
    const rain = r.data.adminCreateRedEnvelopeRain;
    expect(rain).toMatchObject({ status: "ONLINE", shares: 1234, remainingShares: 1234, totalAmount: "88.88", currency: "CNY" });
    const row = await h.sg.services.prisma.redEnvelopeRain.findUniqueOrThrow({ where: { id: rain.id } });
    expect(row.shards).toBe(3);
    let minor = 0;
    let n = 0;
    for (let i = 0; i < row.shards; i++) {
      const xs = await h.sg.services.redis.lrange(keys().shard(rain.id, i), 0, -1);
      n += xs.length;
      minor += xs.reduce((s, x) => s + Number(x), 0);
    }
    expect(n).toBe(1234);
    expect(minor).toBe(8888);
  });

  it("bad input is BAD_USER_INPUT and writes nothing", async () => {
    const before = await h.sg.services.prisma.redEnvelopeRain.count();
    const keysBefore = (await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length;
    const bad = [
      { totalAmount: "1.00", shares: 101 }, // more shares than minor units
      { totalAmount: "1.005" }, // too many decimals
      { totalAmount: "-5.00" },
      { totalAmount: "abc" },
      { currency: "XYZ" },
      { shares: 0 },
      { startsAt: iso(Date.now() + 7200_000) }, // ends before it starts
      { endsAt: iso(Date.now() - 10) },
      { startsAt: "yesterday" },
      { title: "  " },
    ];
    for (const input of bad) {
      const r = await createRain(input);
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe("BAD_USER_INPUT");
    }
    expect(await h.sg.services.prisma.redEnvelopeRain.count()).toBe(before);
    expect((await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length).toBe(keysBefore);
  });

  it("a failure while arming Redis / scheduling the close leaves nothing behind (compensation)", async () => {
    const deps = (h.sg.services.rain as any).d;
    const add = deps.queue.add;
    const before = await h.sg.services.prisma.redEnvelopeRain.count();
    const keysBefore = (await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length;
    deps.queue = {
      add: async () => {
        throw new Error("queue down");
      },
    };
    try {
      const r = await createRain({ title: "doomed" });
      expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      deps.queue = h.sg.services.queues.rain;
    }
    expect(add).toBeTypeOf("function");
    expect(await h.sg.services.prisma.redEnvelopeRain.count()).toBe(before);
    expect((await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length).toBe(keysBefore);
  });

  it("needs lottery:write", async () => {
    const r1 = await h.gql(
      CREATE,
      { input: { title: "x", totalAmount: "1.00", currency: "CNY", shares: 1, startsAt: iso(Date.now()), endsAt: iso(Date.now() + 1000) } },
      { kind: "admin", id: "op-2", permissions: [] },
    );
    expect(r1.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const r2 = await h.gql(
      CREATE,
      { input: { title: "x", totalAmount: "1.00", currency: "CNY", shares: 1, startsAt: iso(Date.now()), endsAt: iso(Date.now() + 1000) } },
      member("m1"),
    );
    expect(r2.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("grabbing", () => {
  it("2,000 members grab 500 shares in parallel: exactly 500 OK, 1,500 SOLD_OUT, sums exact, wallets credited once", async () => {
    const rain = (await createRain({ totalAmount: "1000.00", shares: 500 })).data.adminCreateRedEnvelopeRain;
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => h.sg.services.rain.grab(rain.id, `storm-${i}`)));
    const ok = results.filter((r) => r.code === "OK");
    expect(ok.length).toBe(500);
    expect(results.filter((r) => r.code === "SOLD_OUT").length).toBe(1500);
    expect(sum(ok.map((r) => r.amount)).toFixed(2)).toBe("1000.00");
    expect(ok.every((r) => new Decimal(r.amount!).gte("0.01"))).toBe(true);
    // The credit jobs record every grab and credit each wallet once.
    // 500 credit jobs, each a call to member: minutes on a loaded machine.
    await waitFor(
      async () => (await h.sg.services.prisma.redEnvelopeGrab.count({ where: { rainId: rain.id, creditedAt: { not: null } } })) === 500,
      "500 credited grabs",
      240_000,
    );
    const rows = await h.sg.services.prisma.redEnvelopeGrab.findMany({ where: { rainId: rain.id } });
    expect(sum(rows.map((r) => r.amount.toString())).toFixed(2)).toBe("1000.00");
    const credited = [...h.fake.balances.entries()].filter(([k]) => k.startsWith("storm-")).map(([, v]) => v.toString());
    expect(credited.length).toBe(500);
    expect(sum(credited).toFixed(2)).toBe("1000.00");
    // one RED_ENVELOPE_RECEIVED member message per credited grab, in the lottery outbox
    const msgs = await h.sg.services.prisma.outbox.findMany({ where: { id: { startsWith: `msg.red-envelope.${rain.id}.` } } });
    expect(msgs.length).toBe(500);
    expect(new Set(msgs.map((m) => (m.data as any).memberId))).toEqual(new Set(rows.map((r) => r.memberId)));
    expect(sum(msgs.map((m) => (m.data as any).params.amount)).toFixed(2)).toBe("1000.00");
    // Closing: nothing left, nothing refunded.
    const closed = await h.sg.services.rain.close(rain.id);
    expect(closed).toMatchObject({ status: "CLOSED", remainingShares: 0, grabbedCount: 500 });
    expect(closed.grabbedAmount!.toString()).toBe("1000");
    expect(closed.refundAmount!.toString()).toBe("0");
  }, 300_000);

  it("the same member grabbing 20 times in parallel gets exactly one share", async () => {
    const rain = (await createRain({ totalAmount: "10.00", shares: 10 })).data.adminCreateRedEnvelopeRain;
    const results = await Promise.all(Array.from({ length: 20 }, () => h.gql(GRAB, { rainId: rain.id }, member("greedy"))));
    const codes = results.map((r) => r.data.grabRedEnvelope.code);
    expect(codes.filter((c) => c === "OK").length).toBe(1);
    expect(codes.filter((c) => c === "ALREADY_GRABBED").length).toBe(19);
    const amounts = new Set(results.map((r) => r.data.grabRedEnvelope.amount));
    expect(amounts.size).toBe(1); // ALREADY_GRABBED answers the same share
    expect(Number(await h.sg.services.redis.hget(keys().meta(rain.id), "remaining"))).toBe(9);
  });

  it("NOT_ONLINE before the start, after the end, once closed, and for unknown rains", async () => {
    const rain = (await createRain({ startsAt: iso(Date.now() + 3600_000), endsAt: iso(Date.now() + 7200_000) })).data
      .adminCreateRedEnvelopeRain;
    expect(rain.status).toBe("SCHEDULED");
    expect((await h.gql(GRAB, { rainId: rain.id }, member("early"))).data.grabRedEnvelope).toEqual({
      code: "NOT_ONLINE",
      amount: null,
      currency: null,
    });
    const rain2 = (await createRain({})).data.adminCreateRedEnvelopeRain;
    const svc = h.sg.services.rain;
    const real = svc.now;
    try {
      svc.now = () => Date.now() + 3 * 3600_000; // after endsAt
      expect((await svc.grab(rain2.id, "late")).code).toBe("NOT_ONLINE");
      expect((await svc.get(rain2.id))!.status).toBe("ENDED");
    } finally {
      svc.now = real;
    }
    expect((await svc.grab(rain2.id, "ontime")).code).toBe("OK");
    await svc.close(rain2.id);
    expect((await svc.grab(rain2.id, "after-close")).code).toBe("NOT_ONLINE");
    expect((await svc.grab("00000000-0000-0000-0000-000000000000", "x")).code).toBe("NOT_ONLINE");
    expect((await h.gql(GRAB, { rainId: rain2.id })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("wallet credit and close", () => {
  it("the credit job is idempotent: run twice → one credit; failures are retried until delivered", async () => {
    const rain = (await createRain({ totalAmount: "5.00", shares: 5 })).data.adminCreateRedEnvelopeRain;
    // earlier tests' credits are done (the fake's failures below are for this grab alone)
    await waitFor(async () => (await h.sg.services.rain.streamBacklog()) === 0, "the streams drained");
    await waitFor(async () => {
      const c = await h.sg.services.queues.rain.getJobCounts("active", "waiting", "delayed");
      return c.active + c.waiting === 0;
    }, "no credit job running");
    h.fake.failures = 2; // the worker's first two attempts fail
    const g = await h.sg.services.rain.grab(rain.id, "lucky");
    expect(g.code).toBe("OK");
    await waitFor(
      async () =>
        !!(await h.sg.services.prisma.redEnvelopeGrab.findFirst({
          where: { rainId: rain.id, memberId: "lucky", creditedAt: { not: null } },
        })),
      "credited after retries",
    );
    const ref = `rain:${rain.id}:lucky`;
    expect(h.fake.calls.filter((c) => c.reference === ref).length).toBe(3);
    // Run the job twice more by hand: no further wallet call, same balance.
    const job = { rainId: rain.id, memberId: "lucky", amountMinor: Math.round(Number(g.amount) * 100), currency: "CNY", atMs: Date.now() };
    expect(await h.sg.services.rain.creditGrab(job)).toBe("ALREADY_CREDITED");
    expect(await h.sg.services.rain.creditGrab(job)).toBe("ALREADY_CREDITED");
    expect(h.fake.calls.filter((c) => c.reference === ref).length).toBe(3);
    expect(h.fake.balances.get("lucky:CNY")!.toFixed(2)).toBe(g.amount);
    const mine = await h.gql(`{ myRedEnvelopeGrabs { rainId amount currency credited } }`, {}, member("lucky"));
    expect(mine.data.myRedEnvelopeGrabs).toEqual([{ rainId: rain.id, amount: g.amount, currency: "CNY", credited: true }]);
    // A lost answer (credited at member, not marked here) is safe: member's reference makes it once-only.
    await h.sg.services.prisma.redEnvelopeGrab.updateMany({ where: { rainId: rain.id, memberId: "lucky" }, data: { creditedAt: null } });
    expect(await h.sg.services.rain.creditGrab(job)).toBe("CREDITED");
    expect(h.fake.balances.get("lucky:CNY")!.toFixed(2)).toBe(g.amount);
    // …and the member is told once: the message's key is the grab's
    const told = await h.sg.services.prisma.outbox.findMany({ where: { id: `msg.red-envelope.${rain.id}.lucky` } });
    expect(told.map((m) => m.data)).toEqual([
      {
        memberId: "lucky",
        kind: "RED_ENVELOPE_RECEIVED",
        params: { rainId: rain.id, memberId: "lucky", amount: g.amount, currency: "CNY" },
      },
    ]);
  });

  it("closing records grabs + refund = total EXACTLY (also grabs whose job never ran), and is idempotent", async () => {
    const rain = (await createRain({ totalAmount: "123.45", shares: 40 })).data.adminCreateRedEnvelopeRain;
    const grabs = await Promise.all(Array.from({ length: 15 }, (_, i) => h.sg.services.rain.grab(rain.id, `closer-${i}`)));
    expect(grabs.every((g) => g.code === "OK")).toBe(true);
    // A crash right after the Lua step: the share is taken and recorded in Redis, but no credit job exists.
    const k = keys().meta(rain.id);
    const ghost = (await h.sg.services.redis.lpop(`${k}:shard:0`))!;
    await h.sg.services.redis.hset(`${k}:grabs`, "ghost", `${ghost}:${Date.now()}`);
    await h.sg.services.redis.hincrby(k, "remaining", -1);
    grabs.push({ code: "OK", amount: new Decimal(ghost).div(100).toFixed(2), currency: "CNY" });
    const closed = await h.sg.services.rain.close(rain.id);
    const grabbed = sum(grabs.map((g) => g.amount));
    expect(closed.status).toBe("CLOSED");
    expect(closed.grabbedCount).toBe(16);
    expect(new Decimal(closed.grabbedAmount!.toString()).toFixed(2)).toBe(grabbed.toFixed(2));
    expect(new Decimal(closed.grabbedAmount!.toString()).plus(closed.refundAmount!.toString()).toFixed(2)).toBe("123.45");
    // What is left in Redis is exactly the refund.
    let leftMinor = 0;
    for (let i = 0; i < 1; i++) for (const x of await h.sg.services.redis.lrange(keys().shard(rain.id, i), 0, -1)) leftMinor += Number(x);
    expect(new Decimal(leftMinor).div(100).toFixed(2)).toBe(new Decimal(closed.refundAmount!.toString()).toFixed(2));
    // Every grab reaches PostgreSQL and the wallets.
    await waitFor(
      async () => (await h.sg.services.prisma.redEnvelopeGrab.count({ where: { rainId: rain.id, creditedAt: { not: null } } })) === 16,
      "16 credited (the ghost too)",
    );
    expect(h.fake.balances.get("ghost:CNY")!.toFixed(2)).toBe(new Decimal(ghost).div(100).toFixed(2));
    const again = await h.sg.services.rain.close(rain.id);
    expect(again.refundAmount!.toString()).toBe(closed.refundAmount!.toString());
    const viaApi = await h.gql(
      `mutation($id: ID!) { adminCloseRedEnvelopeRain(id: $id) { status grabbedAmount refundAmount grabbedCount } }`,
      { id: rain.id },
      ADMIN,
    );
    expect(viaApi.data.adminCloseRedEnvelopeRain).toEqual({
      status: "CLOSED",
      grabbedAmount: grabbed.toFixed(2),
      refundAmount: new Decimal("123.45").minus(grabbed).toFixed(2),
      grabbedCount: 16,
    });
  });

  it("the close job is scheduled at endsAt", async () => {
    const rain = (await createRain({ endsAt: iso(Date.now() + 1500) })).data.adminCreateRedEnvelopeRain;
    const job = await h.sg.services.queues.rain.getJob(`close-${rain.id}`);
    expect(job?.name).toBe("close-rain");
    expect(job!.opts.delay).toBeGreaterThan(0);
    await waitFor(async () => (await h.sg.services.rain.get(rain.id))!.status === "CLOSED", "closed by the delayed job");
    const closed = (await h.sg.services.rain.get(rain.id))!;
    expect(closed.refundAmount!.toString()).toBe("100");
  });
});

describe("live events", () => {
  it("publishes coalesced events whose payload the gateway loads; member ids only for their owner", async () => {
    const sub = createRedis(h.redis.url);
    const events: Array<{ eventId: string; keys: Record<string, string> }> = [];
    await sub.subscribe(eventChannel(h.redis.prefix, "redEnvelopeRain"));
    sub.on("message", (_c, m) => events.push(JSON.parse(m)));
    try {
      const rain = (await createRain({ totalAmount: "30.00", shares: 30 })).data.adminCreateRedEnvelopeRain;
      const grabs = await Promise.all(Array.from({ length: 25 }, (_, i) => h.sg.services.rain.grab(rain.id, `live-${i}`)));
      expect(grabs.filter((g) => g.code === "OK").length).toBe(25);
      await waitFor(() => events.some((e) => e.keys.rainId === rain.id), "an event");
      await new Promise((r) => setTimeout(r, 200)); // let a trailing window fire, if any
      const mine = events.filter((e) => e.keys.rainId === rain.id);
      expect(mine.length).toBeLessThan(25); // coalesced
      const last = mine[mine.length - 1]!;
      const gw = (id: string) => ({ kind: "member" as const, id, service: "gateway" });
      const seen = await h.gql(EVENT, { rainId: rain.id, eventId: last.eventId }, gw("someone-else"));
      expect(seen.data.redEnvelopeRainEvent.remainingShares).toBe(5);
      expect(seen.data.redEnvelopeRainEvent.lastGrab.memberId).toBeNull();
      const who = (await h.sg.services.redis.hget(keys().meta(rain.id), "lastMember"))!;
      const own = await h.gql(EVENT, { rainId: rain.id, eventId: last.eventId }, gw(who));
      expect(own.data.redEnvelopeRainEvent.lastGrab.memberId).toBe(who);
      expect(grabs.find((_, i) => `live-${i}` === who)!.amount).toBe(own.data.redEnvelopeRainEvent.lastGrab.amount);
      const direct = await h.gql(EVENT, { rainId: rain.id, eventId: last.eventId }, member(who));
      expect(direct.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    } finally {
      sub.disconnect();
    }
  });
});

describe("funding from the marketing account", () => {
  const CAMPAIGN = `query($id: ID!) { redEnvelopeRainCampaign(id: $id) { status grabbedAmount grabbedCount refundAmount remainingShares } }`;

  it("a rain freezes its total in MARKETING; short budget → INSUFFICIENT_BALANCE, nothing left behind; grabbedAmount is live; closing returns the rest, to the cent", async () => {
    h.fake.marketing.set("USD", { balance: new Decimal("50.00"), frozen: new Decimal(0) });
    const before = await h.sg.services.prisma.redEnvelopeRain.count();
    const keysBefore = (await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length;
    const short = await createRain({ totalAmount: "50.01", currency: "USD", shares: 10 });
    expect(short.errors?.[0]?.extensions?.code).toBe("INSUFFICIENT_BALANCE");
    expect(await h.sg.services.prisma.redEnvelopeRain.count()).toBe(before);
    expect((await scanKeys(h.sg.services.redis, `${h.redis.prefix}:lottery:{rain:*`)).length).toBe(keysBefore);
    expect(h.fake.marketing.get("USD")).toEqual({ balance: new Decimal("50.00"), frozen: new Decimal(0) });

    const rain = (await createRain({ totalAmount: "40.00", currency: "USD", shares: 30 })).data.adminCreateRedEnvelopeRain;
    expect([h.fake.marketing.get("USD")!.balance.toFixed(2), h.fake.marketing.get("USD")!.frozen.toFixed(2)]).toEqual(["10.00", "40.00"]);
    expect((await h.gql(CAMPAIGN, { id: rain.id }, ADMIN)).data.redEnvelopeRainCampaign).toEqual({
      status: "ONLINE",
      grabbedAmount: "0.00",
      grabbedCount: 0,
      refundAmount: null,
      remainingShares: 30,
    });
    const grabs = await Promise.all(Array.from({ length: 12 }, (_, i) => h.sg.services.rain.grab(rain.id, `funded-${i}`)));
    const grabbed = sum(grabs.map((g) => g.amount));
    const live = (await h.gql(CAMPAIGN, { id: rain.id }, ADMIN)).data.redEnvelopeRainCampaign;
    expect(live).toEqual({
      status: "ONLINE",
      grabbedAmount: grabbed.toFixed(2),
      grabbedCount: 12,
      refundAmount: null,
      remainingShares: 18,
    });
    await waitFor(
      async () => (await h.sg.services.prisma.redEnvelopeGrab.count({ where: { rainId: rain.id, creditedAt: { not: null } } })) === 12,
      "12 credited grabs",
    );
    const closed = (
      await h.gql(`mutation($id: ID!) { adminCloseRedEnvelopeRain(id: $id) { status grabbedAmount refundAmount } }`, { id: rain.id }, ADMIN)
    ).data.adminCloseRedEnvelopeRain;
    expect(closed).toEqual({
      status: "CLOSED",
      grabbedAmount: grabbed.toFixed(2),
      refundAmount: new Decimal("40.00").minus(grabbed).toFixed(2),
    });
    // The budget: 50 funded = what the members got + what MARKETING holds again; nothing stays frozen.
    const m = h.fake.marketing.get("USD")!;
    expect(m.frozen.toFixed(2)).toBe("0.00");
    const members = sum(
      [...h.fake.balances.entries()].filter(([k]) => k.startsWith("funded-") && k.endsWith(":USD")).map(([, v]) => v.toString()),
    );
    expect(members.toFixed(2)).toBe(grabbed.toFixed(2));
    expect(m.balance.plus(members).toFixed(2)).toBe("50.00");
    // Closing again releases nothing twice.
    await h.sg.services.rain.close(rain.id);
    expect(m.balance.plus(members).toFixed(2)).toBe("50.00");
  });
});
