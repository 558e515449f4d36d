/**
 * Live connections under abuse (decision 0025): limits per address, per caller and per connection,
 * the handshake time-out, signed-in subscriptions, partner keys on the socket — each refusal with
 * its close code — and a flood from one client that leaves another client's queries and live
 * events on time and the gateway's sockets bounded. Clients get distinct addresses through
 * X-Forwarded-For (the gateway trusts the loopback proxy here).
 */
import { publishLiveEvent } from "@mallgraph/platform/events";
import { hashPartnerKey, mirrorPartnerKey, newPartnerKey } from "@mallgraph/platform/partner-keys";
import type { TestRedis } from "@mallgraph/platform/testing";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { buildManifest } from "../../scripts/operations.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { callerSocketsKey } from "../src/subscriptions/caller-leases.ts";
import { Coalescer, FairScheduler } from "../src/subscriptions/limits.ts";
import { login, startTestGateway, testConfig, type TestFederation, type TestGatewayStack } from "./helpers.ts";

const PING = "subscription P($t: ID!) { ping(topic: $t) { id } }";
const manifest = buildManifest(`
query PartnerWho { whoami { kind id } }
subscription PartnerPing($t: ID!) { ping(topic: $t) { id } }
`);

let fed: TestFederation;
let tr: TestRedis;
let redis: TestGatewayStack["redis"];
let gw: RunningGateway;
let stack: TestGatewayStack;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  stack = await startTestGateway({
    manifest,
    trustedProxies: "127.0.0.1, ::1",
    // the defaults, but a shorter handshake so the test does not wait 3 s
    liveLimits: { initTimeoutMs: 400 },
  });
  ({ fed, tr, redis, gw } = stack);
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await stack?.stop();
});

interface Raw {
  ws: WebSocket;
  messages: any[];
  code?: number;
  reason?: string;
  closed: Promise<number>;
  /** true once connection_ack arrived, false when the socket closed first. */
  acked: Promise<boolean>;
}

/** A graphql-transport-ws socket from `ip`, speaking the protocol by hand; `params: null` never sends connection_init. */
function raw(ip: string, params: Record<string, unknown> | null = {}, url = gw.wsUrl): Raw {
  const ws = new WebSocket(url, "graphql-transport-ws", { headers: { "x-forwarded-for": ip } });
  sockets.push(ws);
  const r = { ws, messages: [] } as unknown as Raw;
  let ack!: (v: boolean) => void;
  r.acked = new Promise((res) => (ack = res));
  r.closed = new Promise((res) =>
    ws.on("close", (code, reason) => {
      r.code = code;
      r.reason = String(reason);
      ack(false);
      res(code);
    }),
  );
  ws.on("error", () => undefined);
  ws.on("message", (d) => {
    const m = JSON.parse(String(d));
    r.messages.push(m);
    if (m.type === "connection_ack") ack(true);
  });
  if (params) ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: params })));
  return r;
}

const send = (r: Raw, id: string, query: string, variables: Record<string, unknown> = {}) =>
  r.ws.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
const ofId = (r: Raw, id: string) => r.messages.filter((m) => m.id === id);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `n=${s.length} p50=${at(0.5)}ms p95=${at(0.95)}ms max=${s[s.length - 1]!.toFixed(1)}ms`;
};

async function refused(reason: string): Promise<number> {
  return (await gw.metrics.wsRefused.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function activeSubscriptions(field: string): Promise<number> {
  return (await gw.metrics.subscriptions.get()).values.find((v) => v.labels.field === field)?.value ?? 0;
}

describe("live-event execution", () => {
  it("takes turns between callers: a caller's backlog waits behind itself, not in front of another's next run", async () => {
    const s = new FairScheduler(1);
    const order: string[] = [];
    let open!: () => void;
    const first = s.run("flood", () => new Promise<void>((r) => (open = r)));
    const runs = [
      ...Array.from({ length: 5 }, (_, i) => s.run("flood", async () => void order.push(`flood-${i}`))),
      s.run("victim", async () => void order.push("victim")),
    ];
    open();
    await Promise.all([first, ...runs]);
    expect(order).toEqual(["flood-0", "victim", "flood-1", "flood-2", "flood-3", "flood-4"]);
  });

  it("runs identical executions once while the first is recent, and never shares a failure", async () => {
    const c = new Coalescer<number>(60_000, 2);
    let runs = 0;
    const run = () => Promise.resolve(++runs);
    expect(await Promise.all([c.run("k", run), c.run("k", run), c.run("k", run)])).toEqual([1, 1, 1]);
    expect(await c.run("other", run)).toBe(2);
    await expect(c.run("bad", () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    await new Promise((r) => setTimeout(r, 0));
    expect(await c.run("bad", run)).toBe(3);
  });
});

describe("live connection limits", () => {
  it("closes a socket that does not finish the handshake in time (4408)", async () => {
    const idle = raw("10.0.1.1", null);
    const started = Date.now();
    expect(await idle.closed).toBe(4408);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(async () => (await refused("handshake")) >= 1, "the handshake refusal to be counted");
  });

  it("refuses sockets over the per-address limit (50) and the per-caller limit (5) with 4429", async () => {
    const fromOne = Array.from({ length: 55 }, () => raw("10.0.2.1"));
    const acks = await Promise.all(fromOne.map((r) => r.acked));
    expect(acks.filter(Boolean)).toHaveLength(50);
    const over = fromOne.filter((r) => r.code !== undefined);
    expect(over).toHaveLength(5);
    for (const r of over) expect([r.code, r.reason]).toEqual([4429, "too many connections from this address"]);
    for (const r of fromOne) r.ws.close();

    // one member from many addresses: 5 sockets, whatever the address
    const mallory = await login(redis, tr.prefix, fed.key, { sub: "mallory" });
    const many = Array.from({ length: 9 }, (_, i) => raw(`10.0.3.${i + 1}`, bearer(mallory.token)));
    const ok = await Promise.all(many.map((r) => r.acked));
    expect(ok.filter(Boolean)).toHaveLength(5);
    for (const r of many.filter((m) => m.code !== undefined))
      expect([r.code, r.reason]).toEqual([4429, "too many connections for this caller"]);
    // a closed socket gives its slot back
    many.find((_, i) => ok[i])!.ws.close();
    await waitFor(async () => (await raw("10.0.3.99", bearer(mallory.token)).acked) || undefined, "a slot to free up");
    for (const r of many) r.ws.close();
  });

  it("refuses operations over the per-connection limit (10) with RATE_LIMITED, keeping the connection and its subscriptions", async () => {
    const r = raw("10.0.4.1");
    expect(await r.acked).toBe(true);
    const before = await activeSubscriptions("ping");
    for (let i = 0; i < 15; i++) send(r, `s${i}`, PING, { t: `per-conn-${i}` });
    await waitFor(async () => ofId(r, "s14").length > 0 && (await activeSubscriptions("ping")) >= before + 10, "the subscriptions");
    const errors = r.messages.filter((m) => m.type === "error");
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e.payload[0].extensions).toMatchObject({ code: "RATE_LIMITED", limit: 10 });
    expect(r.code).toBeUndefined();
    await publishLiveEvent(redis, tr.prefix, "ping", { eventId: "pc-1", keys: { topic: "per-conn-0" } });
    await waitFor(async () => ofId(r, "s0").some((m) => m.type === "next"), "the first subscription's event");
    r.ws.close();
  });

  it("closes an anonymous socket that asks for a signed-in subscription (4403); a member gets it", async () => {
    const anon = raw("10.0.5.1");
    expect(await anon.acked).toBe(true);
    send(anon, "m", "subscription { myPing { id } }");
    expect(await anon.closed).toBe(4403);
    expect(anon.reason).toMatch(/myPing needs a signed-in member/);

    const trent = await login(redis, tr.prefix, fed.key, { sub: "trent" });
    const member = raw("10.0.5.2", bearer(trent.token));
    expect(await member.acked).toBe(true);
    send(member, "m", "subscription { myPing { id topic } }");
    await waitFor(async () => (await activeSubscriptions("myPing")) >= 1, "the member's subscription");
    await publishLiveEvent(redis, tr.prefix, "myPing", { eventId: "mine-1", keys: {}, audience: ["trent"] });
    await waitFor(async () => ofId(member, "m").find((m) => m.type === "next"), "the member's event");
    expect(ofId(member, "m")[0].payload).toEqual({ data: { myPing: { id: "mine-1", topic: "trent" } } });
    member.ws.close();
  });

  it("takes a partner key from connectionParams or the upgrade header: only its manifest operations, bad keys closed with 4401", async () => {
    const key = newPartnerKey();
    await mirrorPartnerKey(redis, tr.prefix, hashPartnerKey(key), {
      id: "pk-live",
      name: "live partner",
      operations: ["PartnerWho", "PartnerPing"],
      rateLimitPerMinute: null,
    });
    const p = raw("10.0.6.1", { "x-api-key": key });
    expect(await p.acked).toBe(true);
    send(p, "who", "query PartnerWho { whoami { kind id } }");
    send(p, "other", "{ whoami { kind } }");
    send(p, "sig", "subscription { myPing { id } }");
    await waitFor(async () => ofId(p, "who").some((m) => m.type === "complete") && ofId(p, "other").length > 0, "the partner's answers");
    expect(ofId(p, "who")[0].payload).toEqual({ data: { whoami: { kind: "partner", id: "pk-live" } } });
    expect(ofId(p, "other")[0].payload[0].extensions.code).toBe("OPERATION_NOT_TRUSTED");
    // not in the manifest: refused before the signed-in check could close the socket
    expect(ofId(p, "sig")[0].payload[0].extensions.code).toBe("OPERATION_NOT_TRUSTED");
    p.ws.close();

    const viaHeader = new WebSocket(gw.wsUrl, "graphql-transport-ws", { headers: { "x-forwarded-for": "10.0.6.2", "x-api-key": key } });
    sockets.push(viaHeader);
    const answer = new Promise<any>((res) =>
      viaHeader.on("message", (d) => (JSON.parse(String(d)).type === "next" ? res(JSON.parse(String(d))) : undefined)),
    );
    viaHeader.on("open", () => viaHeader.send(JSON.stringify({ type: "connection_init" })));
    viaHeader.once("message", () =>
      viaHeader.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "query PartnerWho { whoami { kind id } }" } })),
    );
    expect((await answer).payload.data.whoami).toEqual({ kind: "partner", id: "pk-live" });
    viaHeader.close();

    const bad = raw("10.0.6.3", { "x-api-key": "mgk_not-a-key" });
    expect(await bad.closed).toBe(4401);
  });

  it("a flood from one client (connections, idle handshakes, subscriptions) leaves another client's queries and live events on time", async () => {
    const victor = await login(redis, tr.prefix, fed.key, { sub: "victor" });
    const victim = raw("10.9.0.1", bearer(victor.token));
    expect(await victim.acked).toBe(true);
    send(victim, "v", PING, { t: "victim" });
    await waitFor(async () => (await activeSubscriptions("ping")) >= 1, "the victim's subscription");

    const query = async () => {
      const t = performance.now();
      const res = await fetch(gw.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "10.9.0.2" },
        body: JSON.stringify({ query: "{ whoami { kind } items(first: 2) { id name } }" }),
      });
      const body = (await res.json()) as any;
      expect(body.data?.whoami.kind).toBe("anonymous");
      return performance.now() - t;
    };
    /** Publishes `n` events to the victim's topic, one every 40 ms, and times each until the victim has it. */
    const events = async (tag: string, n: number) => {
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = `${tag}-${i}`;
        const t = performance.now();
        await publishLiveEvent(redis, tr.prefix, "ping", { eventId: id, keys: { topic: "victim" } });
        await waitFor(async () => ofId(victim, "v").some((m) => m.payload?.data?.ping?.id === id), `event ${id}`, 15_000, 5);
        lat.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 40));
      }
      return lat;
    };
    const baselineQ: number[] = [];
    for (let i = 0; i < 20; i++) baselineQ.push(await query());
    const baselineE = await events("quiet", 10);
    const heapBefore = process.memoryUsage().heapUsed;

    // The flood, all from one address and one member: 400 sockets, 100 never initialised, 30 operations
    // on each accepted socket, and events on the flooder's topic for every one of them.
    const mallet = await login(redis, tr.prefix, fed.key, { sub: "mallet" });
    const flood: Raw[] = [];
    const flooding = (async () => {
      for (let wave = 0; wave < 8; wave++) {
        const batch = Array.from({ length: 50 }, (_, i) => raw("10.6.6.6", i % 4 === 0 ? null : bearer(mallet.token)));
        flood.push(...batch);
        await Promise.all(
          batch.map(async (r) => {
            if (!(await r.acked)) return;
            for (let i = 0; i < 30; i++) send(r, `f${i}`, PING, { t: "flood" });
          }),
        );
        for (let i = 0; i < 3; i++)
          await publishLiveEvent(redis, tr.prefix, "ping", { eventId: `flood-${wave}-${i}`, keys: { topic: "flood" } });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const floodQ: number[] = [];
    const floodE = events("flood-time", 15);
    while (floodQ.length < 40) floodQ.push(await query());
    const eventLatency = await floodE;
    await flooding;
    const openDuringFlood = (await gw.metrics.wsConnections.get()).values[0]!.value;
    const heapAfter = process.memoryUsage().heapUsed;

    const acks = await Promise.all(flood.map((r) => r.acked));
    const accepted = acks.filter(Boolean).length;
    // every socket the gateway did not accept is closed: over a limit (4429) or idle (4408)
    await Promise.all(flood.filter((_, i) => !acks[i]).map((r) => r.closed));
    const closes: Record<string, number> = {};
    for (const r of flood) if (r.code !== undefined) closes[r.code] = (closes[r.code] ?? 0) + 1;
    const opsRefused = flood.reduce(
      (n, r) => n + r.messages.filter((m) => m.type === "error" && m.payload?.[0]?.extensions?.code === "RATE_LIMITED").length,
      0,
    );
    console.log(
      [
        "live flood (one member from one address):",
        `  flood sockets ${flood.length}: accepted ${accepted}, closed by code ${JSON.stringify(closes)}; operations refused RATE_LIMITED ${opsRefused}`,
        `  gateway sockets open at the end of the flood: ${openDuringFlood} (limit per address 50)`,
        `  query latency  quiet: ${stats(baselineQ)}   flood: ${stats(floodQ)}`,
        `  event latency  quiet: ${stats(baselineE)}   flood: ${stats(eventLatency)}`,
        `  test-process heap: ${(heapBefore / 1e6).toFixed(1)} MB before, ${(heapAfter / 1e6).toFixed(1)} MB after the flood`,
      ].join("\n"),
    );

    // every query answered and every event delivered, in order, within a generous bound
    expect(floodQ).toHaveLength(40);
    expect(Math.max(...floodQ)).toBeLessThan(10_000);
    expect(Math.max(...eventLatency)).toBeLessThan(10_000);
    const delivered = ofId(victim, "v")
      .map((m) => m.payload?.data?.ping?.id)
      .filter((id: string) => id?.startsWith("flood-time"));
    expect(delivered).toEqual(Array.from({ length: 15 }, (_, i) => `flood-time-${i}`));
    // the flooder held at most 5 initialised sockets (its caller limit) and 50 in all (its address)
    expect(accepted).toBeLessThanOrEqual(5);
    expect(openDuringFlood).toBeLessThanOrEqual(50 + 1);
    expect(accepted + (closes[4429] ?? 0) + (closes[4408] ?? 0)).toBe(flood.length);
    expect(closes[4429]).toBeGreaterThanOrEqual(280);
    expect(opsRefused).toBe(accepted * 20);
    for (const r of flood) r.ws.terminate();
    victim.ws.close();
  });
});

describe("the per-caller limit over several gateway instances (decision 0033)", () => {
  it("a member's sockets count on every instance: 5 over two gateways; a closed socket or a lapsed lease frees a slot", async () => {
    const second = await createGateway({
      config: testConfig(fed, tr.prefix),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest,
      trustedProxies: "127.0.0.1, ::1",
    });
    const opened: Raw[] = [];
    const open = (ip: string, token: string, url?: string) => {
      const r = raw(ip, bearer(token), url);
      opened.push(r);
      return r;
    };
    try {
      const eve = await login(redis, tr.prefix, fed.key, { sub: "eve" });
      const onA = Array.from({ length: 3 }, (_, i) => open(`10.0.9.${i + 1}`, eve.token));
      expect(await Promise.all(onA.map((r) => r.acked))).toEqual([true, true, true]);
      const onB = Array.from({ length: 4 }, (_, i) => open(`10.0.9.${i + 10}`, eve.token, second.wsUrl));
      const okB = await Promise.all(onB.map((r) => r.acked));
      expect(okB.filter(Boolean)).toHaveLength(2);
      for (const r of onB.filter((_, i) => !okB[i])) expect([r.code, r.reason]).toEqual([4429, "too many connections for this caller"]);
      // a socket closed on A frees a slot on B
      onA[0]?.ws.close();
      await waitFor(async () => (await open("10.0.9.20", eve.token, second.wsUrl).acked) || undefined, "a slot on B");

      // leases of an instance that died without giving them back: counted until they lapse
      const crashed = await login(redis, tr.prefix, fed.key, { sub: "crashed" });
      const key = callerSocketsKey(tr.prefix, "member:crashed");
      const now = Date.now();
      await redis.zadd(key, ...Array.from({ length: 5 }, (_, i) => [now + 60_000, `gone:${i}`]).flat());
      const refusedNow = open("10.0.9.30", crashed.token);
      expect([await refusedNow.closed, refusedNow.reason]).toEqual([4429, "too many connections for this caller"]);
      await redis.zadd(key, ...Array.from({ length: 5 }, (_, i) => [now - 1, `gone:${i}`]).flat());
      expect(await open("10.0.9.31", crashed.token, second.wsUrl).acked).toBe(true);
    } finally {
      for (const r of opened) r.ws.terminate();
      await second.stop();
    }
  });
});
