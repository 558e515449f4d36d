/**
 * Subgraph batches (decision 0048): the forwarded operations of one event-loop turn go to their
 * subgraph as one request, and each is answered as a request of its own would have been — its own
 * caller, its own errors and status, its revocations — with a subgraph that lacks the batch
 * endpoint still served (single requests), and the endpoint itself refusing what is not a batch.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { IDENTITY_HEADER, sessionKey, signIdentity } from "@mallgraph/platform/auth";
import {
  BATCH_CONTENT_TYPE,
  batchPath,
  BatchAnswerReader,
  encodeBatchFrame,
  encodeBatchRequest,
  MAX_BATCH_ELEMENTS,
  readBatchAnswer,
  type ElementAnswer,
} from "@mallgraph/platform/subgraph-batch";
import { createTestRedis, type TestRedis } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayOptions, type RunningGateway } from "../src/index.ts";
import { bumps, codes, createRedis, gql, login, SECRET, startFederation, testConfig, type TestFederation } from "./helpers.ts";

let fed: TestFederation;
let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
/** Batches on (the default). */
let batched: RunningGateway;
/** One request per operation. */
let single: RunningGateway;
/** The paths the member subgraph was asked for. */
const memberPaths: string[] = [];

beforeAll(async () => {
  fed = await startFederation();
  tr = createTestRedis();
  redis = createRedis(tr.url);
  fed.member.server.on("request", (req: http.IncomingMessage) => memberPaths.push(req.url ?? ""));
  // a generous time-out: a batch of 24 under a loaded CI machine took more than 300 ms once
  batched = await gatewayWith({ subgraphTimeoutMs: 5_000 });
  single = await gatewayWith({ subgraphTimeoutMs: 5_000, subgraphBatch: false });
}, 60_000);

afterAll(async () => {
  await batched?.stop();
  await single?.stop();
  await fed?.stop();
  redis?.disconnect();
  await tr?.cleanup();
});

/** A gateway on the test federation, response cache off (every operation reaches a subgraph). */
const gatewayWith = (opts: Partial<GatewayOptions>) =>
  createGateway({
    config: testConfig(fed, tr.prefix),
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: fed.supergraphSdl,
    responseCache: false,
    ...opts,
  });

/** What the member subgraph was asked for while `fn` ran. */
async function pathsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const from = memberPaths.length;
  const result = await fn();
  return { result, paths: memberPaths.slice(from) };
}

/**
 * Runs `attempt` (two member operations at once) until the gateway sent them as one batch — whether
 * two requests share an event-loop turn is up to the network — and answers that attempt's result.
 */
async function batchedAttempt<T>(
  attempt: () => Promise<T>,
  tries = 10,
  batched = (paths: string[]) => paths.includes("/graphql/batch"),
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const { result, paths } = await pathsDuring(attempt);
    if (batched(paths)) return result;
  }
  throw new Error(`no batch in ${tries} attempts`);
}

const WHO = "query Who { whoami { kind id sessionId mgHeaders } }";

describe("the batch framing", () => {
  it("slices each body back out as it was, whatever its characters, in whatever order the frames came", () => {
    const answers: ElementAnswer[] = [
      {
        status: 200,
        headers: { "content-type": "application/json", "cache-control": "max-age=30, public" },
        body: '{"data":{"a":"商品 🎁"}}\n',
      },
      { status: 401, headers: {}, body: "" },
      { status: 200, headers: { "x-mg-revoked-sessions": "s1,s2" }, body: '{"data":{"b":"1 2\\n3"}}' },
    ];
    const whole = Buffer.from(encodeBatchFrame(2, answers[2]!) + encodeBatchFrame(0, answers[0]!) + encodeBatchFrame(1, answers[1]!));
    expect(readBatchAnswer(whole, 3)).toEqual(answers);
    // the same bytes in chunks of 1 to 7 bytes (a frame, and a character, split anywhere)
    const reader = new BatchAnswerReader();
    const got: ElementAnswer[] = [];
    for (let at = 0, n = 1; at < whole.length; at += n, n = (n % 7) + 1)
      for (const { index, answer } of reader.push(whole.subarray(at, at + n))) got[index] = answer;
    expect(got).toEqual(answers);
    expect(reader.pending).toBe(0);
    const request = encodeBatchRequest([{ identity: "a.b", requestId: 'r"1', body: '{"query":"{ x }"}' }, { body: "{}" }]);
    expect(JSON.parse(request)).toEqual([{ i: "a.b", r: 'r"1', b: { query: "{ x }" } }, { b: {} }]);
    expect(batchPath("/graphql")).toBe("/graphql/batch");
    expect(batchPath("/graphql/")).toBe("/graphql/batch");
  });

  it("throws on an answer that is cut short, misses an element or is not framed", () => {
    const frame = encodeBatchFrame(0, { status: 200, headers: {}, body: '{"data":{}}' });
    expect(() => readBatchAnswer(Buffer.from(frame.slice(0, -1)), 1)).toThrow(/cut short/);
    expect(() => readBatchAnswer(Buffer.from(frame), 2)).toThrow(/no answer for element 1/);
    expect(() => readBatchAnswer(Buffer.from(`{"data":{}} ${"x".repeat(40)}`), 1)).toThrow(/malformed/);
    expect(() => readBatchAnswer(Buffer.from("x 1\n[]a"), 1)).toThrow(/malformed/);
  });
});

describe("subgraph batches through the gateway", () => {
  it("sends the operations of one turn as one batch, each answered as its own caller", async () => {
    const callers = await Promise.all(Array.from({ length: 24 }, (_, i) => login(redis, tr.prefix, fed.key, { sub: `m-batch-${i}` })));
    const { result, paths } = await pathsDuring(() => Promise.all(callers.map(({ token }) => gql(batched.url, WHO, { token }))));
    result.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        data: { whoami: { kind: "member", id: `m-batch-${i}`, sessionId: callers[i]!.sid, mgHeaders: ["x-mg-identity"] } },
      });
    });
    // fewer subgraph requests than operations, and at least one of them a batch
    expect(paths.filter((p) => p === "/graphql/batch").length).toBeGreaterThan(0);
    expect(paths.length).toBeLessThan(callers.length);
    // the same answers one by one
    const one = await gql(single.url, WHO, { token: callers[0]!.token });
    expect(one.body).toEqual(result[0]!.body);
  });

  it("answers errors, refusals and mutations in a batch exactly as single requests, each mutation run once", async () => {
    const ops: Array<[string, Record<string, unknown>?]> = [
      ["{ catalogPing }"],
      ["{ boom }"],
      ["{ refuse }"],
      ["{ domainRefusal }"],
      ["mutation($by: Int!) { bumpThenRefuse(by: $by) }", { by: 1 }],
      ["mutation($by: Int!) { bump(by: $by) }", { by: 10 }],
      ["{ items(first: 2) { id } }"],
    ];
    const before = bumps.total;
    const viaBatch = await Promise.all(ops.map(([q, variables]) => gql(batched.url, q, { variables })));
    expect(bumps.total - before).toBe(11);
    const viaSingle = await Promise.all(ops.map(([q, variables]) => gql(single.url, q, { variables })));
    expect(bumps.total - before).toBe(22);
    viaBatch.forEach((r, i) => {
      const s = viaSingle[i]!;
      expect(r.status, ops[i]![0]).toBe(s.status);
      // bump answers the running total, which depends on the order the two mutations ran in
      if (ops[i]![0].includes("bump(")) expect(typeof r.body.data.bump).toBe("number");
      else expect(r.body, ops[i]![0]).toEqual(s.body);
    });
    expect(codes(viaBatch[2]!)).toEqual(["CONFLICT"]);
  });

  it("forgets a session at once when an element's answer names it revoked", async () => {
    let n = 0;
    // the revocation and another member operation in one batch (each attempt with a session of its own)
    const { token, revoked } = await batchedAttempt(async () => {
      const { token, sid } = await login(redis, tr.prefix, fed.key, { sub: `m-batch-revoked-${n++}` });
      expect((await gql(batched.url, WHO, { token })).status).toBe(200);
      await redis.del(sessionKey(tr.prefix, sid));
      const [revoked] = await Promise.all([
        gql(batched.url, "query($s: String!) { revokeSession(sid: $s) }", { variables: { s: sid } }),
        gql(batched.url, WHO),
      ]);
      return { token, revoked };
    });
    expect(revoked.body.data).toEqual({ revokeSession: true });
    const r = await gql(batched.url, WHO, { token });
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
  });

  it("keeps a batch under the subgraph's request limit: large operations go in batches of their own", async () => {
    // each forwarded body ≈ 400 K characters (the name is in the fetch's query and its operationName); 8 of them would pass 2 MB
    const name = `Large${"x".repeat(200_000)}`;
    const { result, paths } = await pathsDuring(() =>
      Promise.all(Array.from({ length: 8 }, () => gql(batched.url, `query ${name} { whoami { kind } }`, { operationName: name }))),
    );
    for (const r of result) expect(r.body).toEqual({ data: { whoami: { kind: "anonymous" } } });
    expect(paths.filter((p) => p === "/graphql/batch")).toEqual([]);
    expect(paths.filter((p) => p === "/graphql")).toHaveLength(8);
  });

  it("hands each element on as soon as the subgraph has it: a slow one holds back no other", async () => {
    const patient = await gatewayWith({ subgraphTimeoutMs: 5_000 });
    try {
      // connections from here to it open, plans made
      await Promise.all(Array.from({ length: 11 }, (_, i) => gql(patient.url, i ? WHO : "{ slow(ms: 1) }")));
      let started = performance.now();
      const at = async (p: Promise<{ status: number }>) => {
        expect((await p).status).toBe(200);
        return performance.now() - started;
      };
      // whether the eleven share an event-loop turn at the gateway is up to the network: try until every one
      // went in a batch (one alone goes as a request of its own), so the slow one travelled with fast ones
      const [slow, ...fast] = await batchedAttempt(
        () => {
          started = performance.now();
          return Promise.all([at(gql(patient.url, "{ slow(ms: 900) }")), ...Array.from({ length: 10 }, () => at(gql(patient.url, WHO)))]);
        },
        10,
        (paths) => paths.length > 0 && paths.every((p) => p === "/graphql/batch"),
      );
      expect(slow).toBeGreaterThanOrEqual(900);
      // with one answer per batch the fast ones would have waited the 900 ms too
      for (const t of fast) expect(t).toBeLessThan(slow! - 400);
    } finally {
      await patient.stop();
    }
  });

  it("times each element out as a single request would", async () => {
    const [hasty, hastySingle] = await Promise.all([
      gatewayWith({ subgraphTimeoutMs: 300 }),
      gatewayWith({ subgraphTimeoutMs: 300, subgraphBatch: false }),
    ]);
    try {
      const [slow, fast] = await batchedAttempt(() =>
        Promise.all([gql(hasty.url, "{ slow(ms: 1000) }"), gql(hasty.url, "{ slow(ms: 1000) }")]),
      );
      const alone = await gql(hastySingle.url, "{ slow(ms: 1000) }");
      expect(codes(slow)).toEqual(codes(alone));
      expect(codes(fast)).toEqual(codes(alone));
      expect(codes(alone)).toEqual(["SERVICE_UNAVAILABLE"]);
    } finally {
      await Promise.all([hasty.stop(), hastySingle.stop()]);
    }
  });

  it("serves a subgraph without the batch endpoint (an older release) with single requests", async () => {
    const seen: string[] = [];
    const target = new URL(fed.member.url);
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      if (req.url === "/graphql/batch") {
        res.writeHead(404).end();
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const old = await gatewayWith({ subgraphUrls: { member: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql` } });
    try {
      const callers = await Promise.all(Array.from({ length: 8 }, (_, i) => login(redis, tr.prefix, fed.key, { sub: `m-old-${i}` })));
      const round = async () => {
        const from = seen.length;
        const answers = await Promise.all(callers.map(({ token }) => gql(old.url, WHO, { token })));
        answers.forEach((r, i) => expect(r.body, JSON.stringify(r.body)).toMatchObject({ data: { whoami: { id: `m-old-${i}` } } }));
        const asked = seen.slice(from);
        return { batches: asked.filter((p) => p === "/graphql/batch").length, singles: asked.filter((p) => p === "/graphql").length };
      };
      // batches tried (404: nothing ran) and every operation sent again on its own; after that single requests only, for a while
      const first = await round();
      expect(first.batches).toBeGreaterThan(0);
      expect(first.singles).toBe(callers.length);
      expect(await round()).toEqual({ batches: 0, singles: callers.length });
    } finally {
      await old.stop();
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe("a subgraph's batch endpoint", () => {
  const post = (body: string) =>
    fetch(new URL("/graphql/batch", fed.member.url), { method: "POST", headers: { "content-type": "application/json" }, body });
  const header = (id: string) => signIdentity(SECRET, { kind: "member", id, sessionId: `s-${id}`, permissions: [] });

  it("checks each element's identity header on its own: a forged or replayed one is refused, the others answered", async () => {
    const good = header("m-endpoint-1");
    const replayed = header("m-endpoint-2");
    await post(encodeBatchRequest([{ identity: replayed, body: JSON.stringify({ query: "{ whoami { id } }" }) }]));
    const forged = `${header("m-endpoint-3").slice(0, -4)}AAAA`;
    const res = await post(
      encodeBatchRequest([
        { identity: good, requestId: "req-1", body: JSON.stringify({ query: "{ whoami { id } }" }) },
        { identity: replayed, body: JSON.stringify({ query: "{ whoami { id } }" }) },
        { identity: forged, body: JSON.stringify({ query: "{ whoami { id } }" }) },
        { body: JSON.stringify({ query: "{ whoami { kind } }" }) },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(BATCH_CONTENT_TYPE);
    const [a, b, c, d] = readBatchAnswer(Buffer.from(await res.arrayBuffer()), 4);
    expect(a!.status).toBe(200);
    expect(JSON.parse(a!.body)).toEqual({ data: { whoami: { id: "m-endpoint-1" } } });
    expect([b!.status, JSON.parse(b!.body).errors[0].extensions]).toEqual([401, { code: "UNAUTHENTICATED", reason: "replayed" }]);
    expect([c!.status, JSON.parse(c!.body).errors[0].extensions]).toEqual([401, { code: "UNAUTHENTICATED", reason: "bad-signature" }]);
    expect(JSON.parse(d!.body)).toEqual({ data: { whoami: { kind: "anonymous" } } });
  });

  it("refuses what is not a batch with 400", async () => {
    const element = { b: { query: "{ whoami { kind } }" } };
    for (const body of [
      "not json",
      "[]",
      JSON.stringify({ query: "{ whoami { kind } }" }),
      JSON.stringify([{ i: 1, b: {} }]),
      JSON.stringify([{ b: "{ whoami { kind } }" }]),
      JSON.stringify(Array.from({ length: MAX_BATCH_ELEMENTS + 1 }, () => element)),
    ]) {
      const res = await post(body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect((await res.json()).errors[0].extensions.code).toBe("BAD_USER_INPUT");
    }
    expect(IDENTITY_HEADER).toBe("x-mg-identity");
  });
});
