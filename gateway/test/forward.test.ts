/**
 * Single-fetch forwarding (src/forward.ts): a one-subgraph operation answered as the subgraph
 * answered it must be indistinguishable from Apollo's pipeline — same status, body and headers —
 * for plain answers, errors, refusals and time-outs, and a mutation must run exactly once even
 * when its answer carries errors (the answer is replayed, not re-sent).
 */
import { createTestRedis, type TestRedis } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { bumps, createRedis, gql, login, startFederation, testConfig, type GqlResponse, type TestFederation } from "./helpers.ts";

let fed: TestFederation;
let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
/** Forwarding on, response cache off (so members and anonymous callers take the fast path). */
let fast: RunningGateway;
/** Apollo's pipeline for everything. */
let full: RunningGateway;
let token: string;

const forwarded = async (gw: RunningGateway) =>
  (await gw.metrics.singleFetch.get()).values.reduce(
    (m, v) => ({ ...m, [String(v.labels.outcome)]: v.value }),
    {} as Record<string, number>,
  );

beforeAll(async () => {
  fed = await startFederation();
  tr = createTestRedis();
  redis = createRedis(tr.url);
  const base = {
    config: testConfig(fed, tr.prefix, { MAX_QUERY_DEPTH: "5" }),
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: fed.supergraphSdl,
    responseCache: false,
    subgraphTimeoutMs: 300,
  };
  fast = await createGateway({ ...base, singleFetch: true });
  full = await createGateway({ ...base, singleFetch: false });
  ({ token } = await login(redis, tr.prefix, fed.key, { sub: "m-forward" }));
}, 60_000);

afterAll(async () => {
  await fast?.stop();
  await full?.stop();
  await fed?.stop();
  redis?.disconnect();
  await tr?.cleanup();
});

/** Response headers but the per-response ones (and content-length, which differs with the values). */
const headersOf = (r: GqlResponse) => [...r.headers].filter(([k]) => !["date", "x-request-id", "content-length"].includes(k));

async function both(query: string, opts: Parameters<typeof gql>[2] = {}): Promise<[GqlResponse, GqlResponse, Response]> {
  const a = await gql(fast.url, query, opts);
  const b = await gql(full.url, query, opts);
  // the raw headers of one more fast-path answer
  const raw = await fetch(fast.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: JSON.stringify({ query, variables: opts.variables }),
  });
  await raw.text();
  return [a, b, raw];
}

describe("single-fetch forwarding", () => {
  it("answers one-subgraph operations exactly as Apollo's pipeline does, straight from the subgraph", async () => {
    const before = await forwarded(fast);
    const cases: Array<[string, Parameters<typeof gql>[2]]> = [
      ["{ catalogPing }", {}],
      ["query Who { whoami { kind id sessionId permissions mgHeaders } }", { token }],
      ["query Aliased { a: catalogPing b: catalogPing }", {}],
      ["query Deep { deep { value child { value child { value } } } }", {}],
    ];
    for (const [query, opts] of cases) {
      const [a, b, raw] = await both(query, opts);
      expect(a.status, query).toBe(200);
      expect(a.body, query).toEqual(b.body);
      expect(a.body.errors, query).toBeUndefined();
      expect(headersOf(a), query).toEqual(headersOf(b));
      expect(raw.headers.get("x-request-id")).toBeTruthy();
    }
    // the identity reached the subgraph signed as in the pipeline, and client x-mg-* headers never did
    const who = await gql(fast.url, "{ whoami { kind id mgHeaders } }", { token, headers: { "x-mg-identity": "forged" } });
    expect(who.body.data.whoami).toEqual({ kind: "member", id: "m-forward", mgHeaders: ["x-mg-identity"] });
    const after = await forwarded(fast);
    expect((after.forwarded ?? 0) - (before.forwarded ?? 0)).toBeGreaterThanOrEqual(cases.length * 2 + 1);
    expect(await forwarded(full)).toEqual({});
  });

  it("passes the subgraph's cache policy on like the pipeline does", async () => {
    const [a, b] = await both("{ catalogCounter }");
    expect(headersOf(a)).toEqual(headersOf(b));
    expect(a.headers.get("cache-control")).toMatch(/max-age=30/);
  });

  it("hands errors, refusals and time-outs to the pipeline: same status and body", async () => {
    const cases: Array<[string, Parameters<typeof gql>[2]]> = [
      ["{ boom }", {}], // masked internal error
      ["{ refuse }", {}], // AppError CONFLICT
      ["{ domainRefusal }", {}], // a domain code passed on
      ["{ slow(ms: 2000) }", {}], // the gateway's time-out
      ["{ deep { child { child { child { child { child { value } } } } } } }", {}], // depth limit (onOperation refuses)
      ["{ nope }", {}], // validation
      ["query Q($ms: Int!) { slow(ms: $ms) }", { variables: { ms: "soon" } }], // variables that do not coerce
      ["{ __typename catalogPing }", {}], // a selection the plan does not fetch as it is
      ["{ items(first: 2) { id name } }", {}], // two subgraphs
    ];
    for (const [query, opts] of cases) {
      const [a, b] = await both(query, opts);
      expect({ query, status: a.status, body: a.body }).toEqual({ query, status: b.status, body: b.body });
    }
    // parameters of the wrong shape: what Apollo answers (its 400s)
    for (const body of [
      { query: "{ catalogPing }", variables: "a string" },
      { query: "{ catalogPing }", variables: [1] },
      { query: "{ catalogPing }", extensions: "x" },
      { query: "{ catalogPing }", operationName: 7 },
      { query: ["{ catalogPing }"] },
    ]) {
      const [a, b] = await Promise.all(
        [fast, full].map(async (gw) => {
          const r = await fetch(gw.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
          return { status: r.status, body: await r.json() };
        }),
      );
      expect({ body, answer: a }).toEqual({ body, answer: b });
    }
    expect((await forwarded(fast)).replayed).toBeGreaterThanOrEqual(4);
  });

  it("runs a mutation once: its plain answer is forwarded, an answer with errors is replayed, never re-sent", async () => {
    const start = bumps.total;
    const ok = await gql(fast.url, "mutation { bump(by: 1) }", { token });
    expect(ok.body).toEqual({ data: { bump: start + 1 } });
    const refusedFast = await gql(fast.url, "mutation { bumpThenRefuse(by: 10) }", { token });
    expect(bumps.total).toBe(start + 11);
    const refusedFull = await gql(full.url, "mutation { bumpThenRefuse(by: 100) }", { token });
    expect(bumps.total).toBe(start + 111);
    expect(refusedFast.status).toBe(refusedFull.status);
    expect(refusedFast.body).toEqual(refusedFull.body);
    expect(refusedFast.body.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    // many at once: every one counted exactly once
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => gql(fast.url, `mutation { ${i % 2 ? "bump" : "bumpThenRefuse"}(by: 1) }`, { token })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(bumps.total).toBe(start + 111 + 200);
  });

  it("leaves mutations sent with GET to the pipeline (which refuses them)", async () => {
    const q = encodeURIComponent("mutation { bump(by: 1) }");
    const start = bumps.total;
    const [a, b] = await Promise.all(
      [fast, full].map(async (gw) => {
        const r = await fetch(`${gw.url}?query=${q}`, { headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" } });
        return { status: r.status, body: await r.json() };
      }),
    );
    expect(a).toEqual(b);
    expect(a.status).toBe(405);
    expect(bumps.total).toBe(start);
  });

  it("with the response cache on, forwards a member's mutation (never cached) and the member's queries, caching only what their hints allow", async () => {
    const cached = await createGateway({
      config: testConfig(fed, tr.prefix, { MAX_QUERY_DEPTH: "5" }),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      subgraphTimeoutMs: 300,
    });
    try {
      const start = bumps.total;
      const a = await gql(cached.url, "mutation { bump(by: 1) }", { token });
      const b = await gql(full.url, "mutation { bump(by: 1) }", { token });
      expect(bumps.total).toBe(start + 2);
      expect(a.status).toBe(b.status);
      expect(a.body).toEqual({ data: { bump: start + 1 } });
      expect(headersOf(a)).toEqual(headersOf(b));
      expect(await forwarded(cached)).toEqual({ forwarded: 1 });
      // no cache hint: forwarded every time (decision 0045)
      await gql(cached.url, "query Who { whoami { kind id } }", { token });
      await gql(cached.url, "query Who { whoami { kind id } }", { token });
      expect(await forwarded(cached)).toEqual({ forwarded: 3 });
      // a PUBLIC hint: the second answer comes from the forwarded path's cache
      const c1 = await gql(cached.url, "query Counted { catalogCounter }", { token });
      const c2 = await gql(cached.url, "query Counted { catalogCounter }", { token });
      expect(c2.body).toEqual(c1.body);
      expect(await forwarded(cached)).toEqual({ forwarded: 4, cached: 1 });
    } finally {
      await cached.stop();
    }
  });
});
