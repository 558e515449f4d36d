import { sessionKey } from "@mallgraph/platform/auth";
import { publishLiveEvent, type LiveEvent } from "@mallgraph/platform/events";
import type { TestRedis } from "@mallgraph/platform/testing";
import { waitFor } from "@mallgraph/platform/testing";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { login, startTestGateway, testConfig, type TestFederation, type TestGatewayStack } from "./helpers.ts";

let fed: TestFederation;
let tr: TestRedis;
let redis: TestGatewayStack["redis"];
let gw: RunningGateway;
let stack: TestGatewayStack;
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startTestGateway({
    manifest: { operations: [] },
    subscriptionBufferSize: 5,
  });
  ({ fed, tr, redis, gw } = stack);
});

afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack?.stop();
});

function connect(token?: string, extra: { onClose?: (code: number) => void } = {}): Client {
  const c = createClient({
    url: gw.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (e: any) => extra.onClose?.(e?.code) },
  });
  clients.push(c);
  return c;
}

interface Sink {
  results: any[];
  errors: unknown[];
  done: boolean;
}

function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): Sink {
  const sink: Sink = { results: [], errors: [], done: false };
  client.subscribe(
    { query, variables },
    {
      next: (r) => void sink.results.push(r),
      error: (e) => void sink.errors.push(e),
      complete: () => void (sink.done = true),
    },
  );
  return sink;
}

async function activeSubscriptions(field: string): Promise<number> {
  const m = await gw.metrics.subscriptions.get();
  return m.values.find((v) => v.labels.field === field)?.value ?? 0;
}

/** Waits until `n` subscriptions of `field` listen on the channel (so a publish reaches them). */
async function listening(field: string, n: number) {
  await waitFor(async () => {
    const [, subs] = (await redis.pubsub("NUMSUB", `${tr.prefix}:events:${field}`)) as [string, number];
    return Number(subs) >= 1 && (await activeSubscriptions(field)) >= n;
  }, `${n} subscriptions of ${field}`);
}

const publish = (e: LiveEvent) => publishLiveEvent(redis, tr.prefix, "ping", e);
const PING = "subscription P($t: ID!) { ping(topic: $t) { id topic item { id name } } }";

describe("subscriptions over graphql-ws", () => {
  it("pushes events resolved through federation (Ping from member, Item.name from catalog), filtered by keys, audience and session", async () => {
    const alice = await login(redis, tr.prefix, fed.key, { sub: "alice" });
    const client = connect(alice.token);
    const sink = subscribe(client, PING, { t: "t1" });
    await listening("ping", 1);

    await publish({ eventId: "wrong-topic", keys: { topic: "t2" } });
    await publish({ eventId: "for-bob", keys: { topic: "t1" }, audience: ["bob"] });
    await publish({ eventId: "other-session", keys: { topic: "t1" }, sessions: ["someone-else"] });
    await publish({ eventId: "e1", keys: { topic: "t1" }, audience: ["alice", "bob"], sessions: [alice.sid] });
    await publish({ eventId: "e2", keys: { topic: "t1" } });
    await waitFor(async () => sink.results.length >= 2, "two events");

    expect(sink.results).toEqual([
      { data: { ping: { id: "e1", topic: "t1", item: { id: "item-e1", name: "Item item-e1" } } } },
      { data: { ping: { id: "e2", topic: "t1", item: { id: "item-e2", name: "Item item-e2" } } } },
    ]);
    // the event field ran as the gateway on behalf of alice, and only for events she may see
    const calls = fed.eventCalls.filter((c) => ["e1", "e2", "wrong-topic", "for-bob", "other-session"].includes(c.eventId));
    expect(calls.map((c) => c.eventId)).toEqual(["e1", "e2"]);
    expect(calls[0]!.identity).toMatchObject({ kind: "member", id: "alice", sessionId: alice.sid, service: "gateway" });
  });

  it("keeps the client's alias and fragments, and skips events the subgraph refuses (null)", async () => {
    const before = await activeSubscriptions("ping");
    const client = connect();
    const sink = subscribe(client, 'subscription { mine: ping(topic: "t3") { ...P } } fragment P on Ping { id }');
    await listening("ping", before + 1);
    await publish({ eventId: "hidden-1", keys: { topic: "t3" } });
    await publish({ eventId: "a1", keys: { topic: "t3" } });
    await waitFor(async () => sink.results.length >= 1, "one event");
    expect(sink.results[0]).toEqual({ data: { mine: { id: "a1" } } });
    expect(fed.eventCalls.find((c) => c.eventId === "a1")!.identity).toMatchObject({ kind: "anonymous", service: "gateway" });
  });

  it("delivers an event to every matching subscriber, even after the subscriber's session was revoked (kick)", async () => {
    const carol = await login(redis, tr.prefix, fed.key, { sub: "carol" });
    const before = await activeSubscriptions("ping");
    const c1 = subscribe(connect(carol.token), PING, { t: "kick" });
    const c2 = subscribe(connect(), PING, { t: "kick" });
    await listening("ping", before + 2);
    await redis.del(sessionKey(tr.prefix, carol.sid));
    await publish({ eventId: "kicked", keys: { topic: "kick" }, audience: ["carol"], sessions: [carol.sid] });
    await publish({ eventId: "public", keys: { topic: "kick" } });
    await waitFor(async () => c1.results.length >= 2 && c2.results.length >= 1, "events");
    expect(c1.results.map((r) => r.data.ping.id)).toEqual(["kicked", "public"]);
    expect(c2.results.map((r) => r.data.ping.id)).toEqual(["public"]);
  });

  it("closes a connection with a bad token (4401) and refuses unknown subscriptions and invalid documents", async () => {
    let closedWith: number | undefined;
    const bad = connect("not-a-token", { onClose: (code) => (closedWith = code) });
    const s = subscribe(bad, PING, { t: "x" });
    await waitFor(async () => closedWith !== undefined || s.errors.length > 0, "the connection to close");
    expect(closedWith).toBe(4401);

    const client = connect();
    const invalid = subscribe(client, "subscription { nope }");
    await waitFor(async () => invalid.errors.length > 0, "a validation error");
    expect((invalid.errors[0] as any)[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    // variables that do not fit the definitions are the client's input, as over HTTP
    const missing = subscribe(client, PING, {});
    const wrong = subscribe(client, PING, { t: { an: "object" } });
    await waitFor(async () => missing.errors.length > 0 && wrong.errors.length > 0, "the variable errors");
    expect((missing.errors[0] as any)[0].extensions.code).toBe("BAD_USER_INPUT");
    expect((wrong.errors[0] as any)[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("runs queries over the socket with the connection's identity", async () => {
    const dave = await login(redis, tr.prefix, fed.key, { sub: "dave" });
    const sink = subscribe(connect(dave.token), "{ whoami { kind id service } }");
    await waitFor(async () => sink.done, "the query");
    expect(sink.results).toEqual([{ data: { whoami: { kind: "member", id: "dave", service: null } } }]);
  });

  it("works with several gateway instances: each one subscribes to Redis", async () => {
    const second = await createGateway({
      config: testConfig(fed, tr.prefix),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest: { operations: [] },
    });
    try {
      const before = await activeSubscriptions("ping");
      const onFirst = subscribe(connect(), PING, { t: "multi" });
      const c2 = createClient({ url: second.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
      clients.push(c2);
      const onSecond = subscribe(c2, PING, { t: "multi" });
      await listening("ping", before + 1);
      await waitFor(
        async () => ((await second.metrics.subscriptions.get()).values.find((v) => v.labels.field === "ping")?.value ?? 0) >= 1,
        "the second instance's subscription",
      );
      await waitFor(async () => {
        const [, n] = (await redis.pubsub("NUMSUB", `${tr.prefix}:events:ping`)) as [string, number];
        return Number(n) >= 2;
      }, "both instances to listen");
      await publish({ eventId: "m1", keys: { topic: "multi" } });
      await waitFor(async () => onFirst.results.length >= 1 && onSecond.results.length >= 1, "both subscribers");
      expect(onFirst.results[0].data.ping.id).toBe("m1");
      expect(onSecond.results[0].data.ping.id).toBe("m1");
      await c2.dispose();
    } finally {
      await second.stop();
    }
  });

  it("drops a client whose buffer of undelivered events overflows", async () => {
    const eve = await login(redis, tr.prefix, fed.key, { sub: "eve" });
    let closedWith: number | undefined;
    const before = await activeSubscriptions("ping");
    const client = connect(eve.token, { onClose: (code) => (closedWith = code) });
    subscribe(client, PING, { t: "flood" });
    await listening("ping", before + 1);
    // Events queue faster than they are resolved (each needs a federated query): the 5-event buffer overflows.
    await Promise.all(Array.from({ length: 200 }, (_, i) => publish({ eventId: `f${i}`, keys: { topic: "flood" } })));
    await waitFor(async () => closedWith !== undefined, "the slow client to be dropped");
    expect(closedWith).toBe(4429);
    const text = await (await fetch(gw.url.replace("/graphql", "/metrics"))).text();
    expect(text).toMatch(/mg_gateway_subscription_events_total\{field="ping",outcome="dropped"\} [1-9]/);
  });
});
