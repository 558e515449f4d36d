import { createHash } from "node:crypto";
import { accessAudience, generateSigningKey, sessionKey, signAccessToken, signIdentity } from "@mallgraph/platform/auth";
import { createTestRedis, type TestRedis, waitFor } from "@mallgraph/platform/testing";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../scripts/operations.ts";
import { graphql } from "../src/graphql.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { useAuth } from "../src/plugins/useAuth.ts";
import { apqKey } from "../src/plugins/usePersistedQueries.ts";
import { measureOperation } from "../src/plugins/useQueryLimits.ts";
import {
  codes,
  createRedis,
  expiredToken,
  gql,
  login,
  SECRET,
  ISSUER,
  startFederation,
  testConfig,
  type TestFederation,
} from "./helpers.ts";

const { buildSchema, parse, getOperationAST } = graphql;

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

const manifest = buildManifest(`
query PartnerWho { whoami { kind id } }
query PartnerItems($n: Int) { items(first: $n) { id name } }
`);

let fed: TestFederation;
let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
let gw: RunningGateway;

beforeAll(async () => {
  fed = await startFederation();
  tr = createTestRedis();
  redis = createRedis(tr.url);
  gw = await createGateway({
    config: testConfig(fed, tr.prefix, { MAX_QUERY_DEPTH: "6", MAX_QUERY_COST: "300" }),
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: fed.supergraphSdl,
    manifest,
    circuit: { failureThreshold: 3, cooldownMs: 1500 },
    subgraphTimeoutMs: 3000,
  });
});

afterAll(async () => {
  await gw?.stop();
  await fed?.stop();
  redis?.disconnect();
  await tr?.cleanup();
});

describe("identity propagation", () => {
  it("sends the verified caller to subgraphs as a signed identity and ignores forged x-mg-* headers", async () => {
    const { token, sid } = await login(redis, tr.prefix, fed.key, { sub: "m-1", device: "APP" });
    const forged = signIdentity(SECRET, { kind: "admin", id: "root", permissions: ["*"], service: "gateway" });
    const r = await gql(gw.url, "{ whoami { kind id sessionId device service permissions mgHeaders } }", {
      token,
      headers: { "x-mg-identity": forged, "x-mg-extra": "1" },
    });
    expect(r.status).toBe(200);
    expect(r.body.data.whoami).toEqual({
      kind: "member",
      id: "m-1",
      sessionId: sid,
      device: "APP",
      service: null,
      permissions: [],
      mgHeaders: ["x-mg-identity"],
    });
  });

  it("anonymous callers (no token) reach subgraphs as anonymous even with a forged identity header", async () => {
    const forged = signIdentity(SECRET, { kind: "admin", id: "root", permissions: ["*"] });
    const r = await gql(gw.url, "{ whoami { kind id service } }", { headers: { "x-mg-identity": forged } });
    expect(r.body.data.whoami).toEqual({ kind: "anonymous", id: null, service: null });
  });

  it("operators carry the permissions of their session", async () => {
    const { token } = await login(redis, tr.prefix, fed.key, { sub: "op-1", realm: "admin", permissions: ["message:read", "order:write"] });
    const r = await gql(gw.url, "{ whoami { kind id permissions } }", { token });
    expect(r.body.data.whoami).toEqual({ kind: "admin", id: "op-1", permissions: ["message:read", "order:write"] });
  });
});

describe("authentication failures", () => {
  it("refuses an expired token with 401 UNAUTHENTICATED", async () => {
    const { sid } = await login(redis, tr.prefix, fed.key, { sub: "m-2" });
    const r = await gql(gw.url, "{ whoami { kind } }", { token: await expiredToken(fed.key, "m-2", sid) });
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    expect(r.body.data).toBeUndefined();
  });

  it("refuses a token with a bad signature, a wrong issuer, garbage, or a non-Bearer header", async () => {
    const { sid } = await login(redis, tr.prefix, fed.key, { sub: "m-3" });
    const { key: other } = await generateSigningKey();
    const badSig = await signAccessToken({ ...other, kid: fed.key.kid }, ISSUER, 900, { sub: "m-3", sid, realm: "member" });
    const badIssuer = await signAccessToken(fed.key, "someone-else", 900, { sub: "m-3", sid, realm: "member" });
    for (const token of [badSig, badIssuer, "not.a.jwt"]) {
      const r = await gql(gw.url, "{ whoami { kind } }", { token });
      expect(r.status).toBe(401);
      expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    }
    const basic = await gql(gw.url, "{ whoami { kind } }", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.status).toBe(401);
  });

  it("refuses a token whose session was revoked (within the ~1 s session cache)", async () => {
    const { token, sid } = await login(redis, tr.prefix, fed.key, { sub: "m-4" });
    expect((await gql(gw.url, "{ whoami { id } }", { token })).body.data.whoami.id).toBe("m-4");
    await redis.del(sessionKey(tr.prefix, sid));
    const refused = await waitFor(
      async () => {
        const r = await gql(gw.url, "{ whoami { id } }", { token });
        return r.status === 401 ? r : undefined;
      },
      "the revoked session to be refused",
      3_000,
      50,
    );
    expect(codes(refused)).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses at once when a sessionEvents live event names the revoked session", async () => {
    const { token, sid } = await login(redis, tr.prefix, fed.key, { sub: "m-5" });
    expect((await gql(gw.url, "{ whoami { id } }", { token })).status).toBe(200);
    await redis.del(sessionKey(tr.prefix, sid));
    await redis.publish(
      `${tr.prefix}:events:sessionEvents`,
      JSON.stringify({ eventId: "e1", keys: {}, audience: ["m-5"], sessions: [sid] }),
    );
    // the publish is delivered to the gateway's subscriber before this request is read
    const r = await waitFor(
      async () => {
        const x = await gql(gw.url, "{ whoami { id } }", { token });
        return x.status === 401 ? x : undefined;
      },
      "eviction",
      100,
      10,
    );
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses at once when the subgraph that revoked the session names it in x-mg-revoked-sessions", async () => {
    const { token, sid } = await login(redis, tr.prefix, fed.key, { sub: "m-5b" });
    expect((await gql(gw.url, "{ whoami { id } }", { token })).status).toBe(200);
    await redis.del(sessionKey(tr.prefix, sid));
    expect((await gql(gw.url, "query($s: String!) { revokeSession(sid: $s) }", { variables: { s: sid } })).body.data).toEqual({
      revokeSession: true,
    });
    const r = await gql(gw.url, "{ whoami { id } }", { token }); // no waiting: evicted before the mutation was answered
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
  });

  it("checks the realm's audience: a token with another realm's audience, or none, is refused; where one realm is required the other's token is refused", async () => {
    const { sid } = await login(redis, tr.prefix, fed.key, { sub: "op-9", realm: "admin", permissions: ["queues:manage"] });
    const forge = (aud?: string) => {
      const jwt = new SignJWT({ sid, realm: "admin" })
        .setProtectedHeader({ alg: "EdDSA", kid: fed.key.kid })
        .setSubject("op-9")
        .setIssuer(ISSUER)
        .setExpirationTime("5m");
      return (aud ? jwt.setAudience(aud) : jwt).sign(fed.key.privateKey);
    };
    for (const token of [await forge(), await forge(accessAudience(ISSUER, "member")), await forge("someone-else:admin")]) {
      const r = await gql(gw.url, "{ whoami { kind } }", { token });
      expect(r.status).toBe(401);
      expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    }
    expect((await gql(gw.url, "{ whoami { kind } }", { token: await forge(accessAudience(ISSUER, "admin")) })).body.data.whoami).toEqual({
      kind: "admin",
    });

    const auth = useAuth({ redis, prefix: tr.prefix, issuer: ISSUER, jwks: new URL("/.well-known/jwks.json", fed.member.url) });
    const member = await login(redis, tr.prefix, fed.key, { sub: "m-9" });
    const admin = await login(redis, tr.prefix, fed.key, { sub: "op-10", realm: "admin", permissions: ["queues:manage"] });
    expect((await auth.authenticate(`Bearer ${admin.token}`, "admin")).kind).toBe("admin");
    expect((await auth.authenticate(`Bearer ${member.token}`, "member")).kind).toBe("member");
    for (const [token, realm] of [
      [member.token, "admin"],
      [admin.token, "member"],
    ] as const) {
      const e = await auth.authenticate(`Bearer ${token}`, realm).catch((err: unknown) => err);
      expect((e as { extensions?: { code?: string } }).extensions?.code, `${realm} required`).toBe("UNAUTHENTICATED");
    }
  });

  it("refuses a token whose session belongs to someone else", async () => {
    const { sid } = await login(redis, tr.prefix, fed.key, { sub: "m-6" });
    const stolen = await signAccessToken(fed.key, ISSUER, 900, { sub: "m-7", sid, realm: "member" });
    const r = await gql(gw.url, "{ whoami { id } }", { token: stolen });
    expect(r.status).toBe(401);
  });
});

describe("persisted queries", () => {
  const query = "query Items { items(first: 2) { id name } }";
  const hash = sha(query);
  const pq = (h: string) => ({ persistedQuery: { version: 1, sha256Hash: h } });

  it("answers PERSISTED_QUERY_NOT_FOUND for an unknown hash, registers on the retry, then serves the hash alone (POST and GET)", async () => {
    const miss = await gql(gw.url, undefined, { extensions: pq(hash) });
    expect(codes(miss)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expect(miss.body.errors![0]!.message).toBe("PersistedQueryNotFound");

    const register = await gql(gw.url, query, { extensions: pq(hash) });
    expect(register.body.data.items).toEqual([
      { id: "0", name: "Item 0" },
      { id: "1", name: "Item 1" },
    ]);
    expect(await redis.get(apqKey(tr.prefix, hash))).toBe(query);

    const hit = await gql(gw.url, undefined, { extensions: pq(hash) });
    expect(hit.body.data.items).toHaveLength(2);

    const get = await fetch(`${gw.url}?extensions=${encodeURIComponent(JSON.stringify(pq(hash)))}`);
    expect(get.status).toBe(200);
    expect(((await get.json()) as any).data.items).toHaveLength(2);
  });

  it("refuses a hash that does not match the query and writes nothing", async () => {
    const wrong = "a".repeat(64);
    const r = await gql(gw.url, query, { extensions: pq(wrong) });
    expect(codes(r)).toEqual(["BAD_USER_INPUT"]);
    expect(await redis.exists(apqKey(tr.prefix, wrong))).toBe(0);
  });

  it("GET cannot run mutations", async () => {
    const r = await fetch(`${gw.url}?query=${encodeURIComponent("mutation { x }")}`);
    expect(r.status).toBeGreaterThanOrEqual(400);
  });
});

describe("safelist for partner clients", () => {
  const partner = { "apollographql-client-name": "partner-acme" };

  it("refuses an operation outside the manifest with OPERATION_NOT_TRUSTED", async () => {
    const r = await gql(gw.url, "{ whoami { kind } }", { headers: partner });
    expect(r.status).toBe(403);
    expect(codes(r)).toEqual(["OPERATION_NOT_TRUSTED"]);
    const byUnknownHash = await gql(gw.url, undefined, {
      headers: partner,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha("{ boom }") } },
    });
    expect(codes(byUnknownHash)).toEqual(["OPERATION_NOT_TRUSTED"]);
  });

  it("runs a manifest operation by id (APQ hash) or as the same document, however formatted", async () => {
    const op = manifest.operations.find((o) => o.name === "PartnerItems")!;
    const byId = await gql(gw.url, undefined, {
      headers: partner,
      variables: { n: 1 },
      extensions: { persistedQuery: { version: 1, sha256Hash: op.id } },
    });
    expect(byId.body.data.items).toEqual([{ id: "0", name: "Item 0" }]);
    const byBody = await gql(gw.url, "query PartnerWho {\n whoami {   kind\n id } }", { headers: partner });
    expect(byBody.body.data.whoami).toEqual({ kind: "anonymous", id: null });
  });

  it("other clients may run any operation", async () => {
    const r = await gql(gw.url, "{ whoami { kind } }", { headers: { "apollographql-client-name": "web" } });
    expect(r.status).toBe(200);
  });
});

describe("query limits", () => {
  it("refuses a query deeper than MAX_QUERY_DEPTH before it runs", async () => {
    const ok = await gql(gw.url, "{ deep { child { child { child { child { value } } } } } }");
    expect(ok.body.errors).toBeUndefined();
    const r = await gql(gw.url, "{ deep { child { child { child { child { child { child { value } } } } } } } }");
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(["QUERY_TOO_DEEP"]);
    expect(r.body.errors![0]!.extensions).toMatchObject({ depth: 8, maxDepth: 6 });
  });

  it("follows fragments when measuring depth", async () => {
    const r = await gql(
      gw.url,
      "{ deep { ...A } } fragment A on Node { child { child { ...B } } } fragment B on Node { child { child { child { value } } } }",
    );
    expect(codes(r)).toEqual(["QUERY_TOO_DEEP"]);
  });

  it("refuses a query costing more than MAX_QUERY_COST (list sizes multiply)", async () => {
    const ok = await gql(gw.url, "query($n: Int) { items(first: $n) { id name } }", { variables: { n: 100 } });
    expect(ok.body.data.items).toHaveLength(100); // 1 + 100×2 = 201
    const r = await gql(gw.url, "query($n: Int) { items(first: $n) { id name } }", { variables: { n: 200 } });
    expect(codes(r)).toEqual(["QUERY_TOO_COSTLY"]);
    expect(r.body.errors![0]!.extensions).toMatchObject({ cost: 401, maxCost: 300 });
  });

  it("measures cost and depth as documented", () => {
    const schema = buildSchema("type Q { a(first: Int): [A!]! b: A } type A { x: Int as(first: Int): [A!] } schema { query: Q }");
    const doc = parse("{ a(first: 5) { x as { x } } b { x } }");
    // a:1, x:5, as:5, as.x:5×10=50, b:1, b.x:1
    expect(measureOperation(schema, doc, getOperationAST(doc)!, {})).toEqual({ depth: 3, cost: 63 });
  });
});

describe("response cache (subgraph cache hints, PUBLIC / PRIVATE scopes)", () => {
  it("serves an anonymous query with a max-age hint from the cache until it expires", async () => {
    const a = await gql(gw.url, "{ catalogCounter }");
    const b = await gql(gw.url, "{ catalogCounter }");
    expect(a.body.data.catalogCounter).toBeGreaterThan(0);
    expect(b.body.data.catalogCounter).toBe(a.body.data.catalogCounter);
    expect(b.headers.get("cache-control")).toBe("max-age=30, public");
  });

  it("single-fetch queries are cached on the forwarded path: a hit calls no subgraph and says its age", async () => {
    const outcomes = async () =>
      Object.fromEntries((await gw.metrics.singleFetch.get()).values.map((v) => [String(v.labels.outcome), v.value])) as Record<
        string,
        number
      >;
    const before = await outcomes();
    const first = await gql(gw.url, "query ForwardCached { catalogCounter }");
    const again = await gql(gw.url, "query ForwardCached { catalogCounter }");
    const after = await outcomes();
    expect(again.body).toEqual(first.body);
    expect((after.forwarded ?? 0) - (before.forwarded ?? 0)).toBe(1);
    expect((after.cached ?? 0) - (before.cached ?? 0)).toBe(1);
    expect(again.headers.get("cache-control")).toBe("max-age=30, public");
    expect(Number(again.headers.get("age"))).toBeGreaterThanOrEqual(0);
  });

  it("never caches a field without a hint", async () => {
    const { token } = await login(redis, tr.prefix, fed.key, { sub: "m-uncached" });
    for (const opts of [{}, { token }]) {
      const u1 = await gql(gw.url, "{ catalogUncached }", opts);
      const u2 = await gql(gw.url, "{ catalogUncached }", opts);
      expect(u2.body.data.catalogUncached).toBeGreaterThan(u1.body.data.catalogUncached);
    }
  });

  it("members share PUBLIC answers with each other, in a partition of their own (never the anonymous one)", async () => {
    const anon = (await gql(gw.url, "query Shared { catalogCounter }")).body.data.catalogCounter;
    const a = await login(redis, tr.prefix, fed.key, { sub: "m-public-a" });
    const b = await login(redis, tr.prefix, fed.key, { sub: "m-public-b" });
    const fromA = await gql(gw.url, "query Shared { catalogCounter }", { token: a.token });
    const fromB = await gql(gw.url, "query Shared { catalogCounter }", { token: b.token });
    expect(fromA.body.data.catalogCounter).not.toBe(anon);
    expect(fromB.body.data.catalogCounter).toBe(fromA.body.data.catalogCounter);
    expect(fromB.headers.get("cache-control")).toBe("max-age=30, public");
    expect((await gql(gw.url, "query Shared { catalogCounter }")).body.data.catalogCounter).toBe(anon);
  });

  it("never serves a member's PRIVATE answer to another member (or to anyone): it is cached for that session only", async () => {
    const a = await login(redis, tr.prefix, fed.key, { sub: "m-private-a" });
    const b = await login(redis, tr.prefix, fed.key, { sub: "m-private-b" });
    for (const query of ["{ catalogMine }", "{ catalogCounter catalogMine }"]) {
      const a1 = await gql(gw.url, query, { token: a.token });
      const a2 = await gql(gw.url, query, { token: a.token });
      const b1 = await gql(gw.url, query, { token: b.token });
      const b2 = await gql(gw.url, query, { token: b.token });
      const anon1 = await gql(gw.url, query);
      const anon2 = await gql(gw.url, query);
      expect(a1.body.data.catalogMine).toMatch(/^m-private-a:\d+$/);
      expect(a1.headers.get("cache-control")).toBe("max-age=30, private");
      expect(a2.body.data).toEqual(a1.body.data); // from the cache, for A's own session
      expect(b1.body.data.catalogMine).toMatch(/^m-private-b:\d+$/);
      expect(b2.body.data).toEqual(b1.body.data);
      // anonymous callers have no session: a PRIVATE answer is never cached for them
      expect(anon1.body.data.catalogMine).toMatch(/^anonymous:\d+$/);
      expect(anon2.body.data.catalogMine).not.toBe(anon1.body.data.catalogMine);
    }
    // A's second session (another device) does not read the first session's private answers either
    const a3 = await login(redis, tr.prefix, fed.key, { sub: "m-private-a" });
    const other = await gql(gw.url, "{ catalogMine }", { token: a3.token });
    const first = await gql(gw.url, "{ catalogMine }", { token: a.token });
    expect(other.body.data.catalogMine).not.toBe(first.body.data.catalogMine);
  });

  it("operators never read or write it", async () => {
    const { token } = await login(redis, tr.prefix, fed.key, { sub: "op-cache", realm: "admin", permissions: ["message:read"] });
    const o1 = (await gql(gw.url, "{ catalogCounter }", { token })).body.data.catalogCounter;
    const o2 = (await gql(gw.url, "{ catalogCounter }", { token })).body.data.catalogCounter;
    expect(o2).toBeGreaterThan(o1);
  });

  it("GATEWAY_RESPONSE_CACHE=off: nothing is cached", async () => {
    const off = await createGateway({
      config: testConfig(fed, tr.prefix),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest,
      responseCache: false,
    });
    try {
      const c1 = (await gql(off.url, "{ catalogCounter }")).body.data.catalogCounter;
      const c2 = (await gql(off.url, "{ catalogCounter }")).body.data.catalogCounter;
      expect(c2).toBeGreaterThan(c1);
    } finally {
      await off.stop();
    }
  });
});

describe("errors", () => {
  it("masks an unexpected subgraph error as internal error", async () => {
    const r = await gql(gw.url, "{ boom }");
    expect(r.body.errors).toEqual([{ message: "internal error", path: ["boom"], extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
    expect(JSON.stringify(r.body)).not.toContain("password");
  });

  it("passes domain errors through with their code and message", async () => {
    const r = await gql(gw.url, "{ refuse domainRefusal }");
    const byPath = Object.fromEntries(r.body.errors!.map((e) => [(e.path as string[])[0], e]));
    expect(byPath.refuse).toMatchObject({ message: "already done", extensions: { code: "CONFLICT" } });
    expect(byPath.domainRefusal).toMatchObject({ message: "coupon expired", extensions: { code: "COUPON_EXPIRED" } });
  });

  it("answers validation errors with GRAPHQL_VALIDATION_FAILED", async () => {
    const r = await gql(gw.url, "{ nope }");
    expect(codes(r)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
  });

  it("answers a malformed body with BAD_USER_INPUT", async () => {
    const res = await fetch(gw.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("refuses variables nested deeper than 64 levels with BAD_USER_INPUT (before any cache or coercion walks them)", async () => {
    const deep = '{"a":'.repeat(5000) + "1" + "}".repeat(5000);
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"query":"{ whoami { kind } }","variables":{"v":${deep}}}`,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0]).toMatchObject({
      message: "variables nest deeper than 64 levels",
      extensions: { code: "BAD_USER_INPUT" },
    });
  });

  it("answers a body over 2 MB with HTTP 413 and BAD_USER_INPUT in a GraphQL error body", async () => {
    const body = JSON.stringify({ query: "query Q($s: String) { whoami { kind } }", variables: { s: "x".repeat(10 * 1024 * 1024) } });
    const res = await fetch(gw.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(413);
    const json = (await res.json()) as any;
    expect(json.errors[0]).toEqual({
      message: "request body too large (at most 2097152 bytes)",
      extensions: { code: "BAD_USER_INPUT", limit: 2097152 },
    });
  });
});

describe("health, readiness and metrics", () => {
  it("answers /health and /ready", async () => {
    expect((await fetch(gw.url.replace("/graphql", "/health"))).status).toBe(200);
    const ready = await fetch(gw.url.replace("/graphql", "/ready"));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", member: "ready", catalog: "ready", cart: "ready" });
  });

  it("exposes request, subgraph and error metrics", async () => {
    await gql(gw.url, "query Named { whoami { kind } }");
    const text = await (await fetch(gw.url.replace("/graphql", "/metrics"))).text();
    expect(text).toMatch(/mg_gateway_requests_total\{operation="Named",transport="http",outcome="ok"\} \d+/);
    expect(text).toMatch(/mg_gateway_subgraph_requests_total\{subgraph="member",outcome="ok"\} \d+/);
    expect(text).toMatch(/mg_gateway_errors_total\{code="QUERY_TOO_DEEP"\} \d+/);
    expect(text).toContain("mg_gateway_request_duration_seconds_bucket");
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures of a dead subgraph, fails fast, and closes again once it is back", async () => {
    await fed.cart.stop();
    const notReady = await fetch(gw.url.replace("/graphql", "/ready"));
    expect(notReady.status).toBe(503);

    for (let i = 0; i < 3; i++) {
      const r = await gql(gw.url, "{ cartPing }");
      expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(r.body.errors![0]!.message).toBe("subgraph cart is unreachable");
    }
    expect(gw.breakers.get("cart")!.state).toBe("open");
    const fast = await gql(gw.url, "{ cartPing }");
    expect(codes(fast)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(fast.body.errors![0]!.message).toContain("circuit open");
    // other subgraphs are unaffected
    expect((await gql(gw.url, "{ catalogPing }")).body.data).toEqual({ catalogPing: "pong" });

    await fed.restartCart();
    const back = await waitFor(
      async () => {
        const r = await gql(gw.url, "{ cartPing }");
        return r.body.data?.cartPing === "pong" ? r : undefined;
      },
      "the circuit to close after the cool-down",
      5_000,
      50,
    );
    expect(back.body.errors).toBeUndefined();
    expect(gw.breakers.get("cart")!.state).toBe("closed");
    const text = await (await fetch(gw.url.replace("/graphql", "/metrics"))).text();
    expect(text).toMatch(/mg_gateway_subgraph_requests_total\{subgraph="cart",outcome="circuit_open"\} [1-9]/);
  });
});

describe("subgraph time-out", () => {
  it("answers SERVICE_UNAVAILABLE when a subgraph does not answer within the time-out", async () => {
    const quick = await createGateway({
      config: testConfig(fed, tr.prefix),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest,
      subgraphTimeoutMs: 200,
    });
    try {
      const r = await gql(quick.url, "{ slow(ms: 1500) }");
      expect(r.body.data).toEqual({ slow: null });
      expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(r.body.errors![0]!.message).toBe("subgraph member timed out");
      expect((await gql(quick.url, "{ slow(ms: 1) }")).body.data).toEqual({ slow: "done" });
    } finally {
      await quick.stop();
    }
  });
});

describe("rate limit", () => {
  let limited: RunningGateway;
  const tr2 = createTestRedis(); // its own counters
  beforeAll(async () => {
    limited = await createGateway({
      config: testConfig(fed, tr2.prefix, { RATE_LIMIT_PER_MINUTE: "5" }),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest,
      perClientPerMinute: 8,
    });
  });
  afterAll(async () => {
    await limited?.stop();
    await tr2.cleanup();
  });

  it("allows RATE_LIMIT_PER_MINUTE requests per user, then RATE_LIMITED with Retry-After; other users are unaffected", async () => {
    const a = await login(redis, tr2.prefix, fed.key, { sub: "rl-a" });
    const b = await login(redis, tr2.prefix, fed.key, { sub: "rl-b" });
    const results = await Promise.all(Array.from({ length: 12 }, () => gql(limited.url, "{ whoami { id } }", { token: a.token })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(7);
    expect(codes(refused[0]!)).toEqual(["RATE_LIMITED"]);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused[0]!.body.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect((await gql(limited.url, "{ whoami { id } }", { token: b.token })).status).toBe(200);
  });

  it("limits anonymous callers by IP", async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await gql(limited.url, "{ whoami { kind } }"));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("limits a client name across its users", async () => {
    const headers = { "apollographql-client-name": "partner-bulk" };
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => login(redis, tr2.prefix, fed.key, { sub: `bulk-${i}` })));
    const results = await Promise.all(
      users.map((u) => gql(limited.url, "query PartnerWho { whoami { kind id } }", { token: u.token, headers })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(8);
    expect(results.filter((r) => r.status === 429)).toHaveLength(2);
  });
});
