/**
 * Partners by API key: a key runs only the manifest operations it names (by id, or the identical
 * document), whatever the client name; it is the caller for subgraphs and rate limits; a revoked
 * key is refused within 1 s.
 */
import { createHash } from "node:crypto";
import {
  dropPartnerKeyMirror,
  hashPartnerKey,
  mirrorPartnerKey,
  newPartnerKey,
  type PartnerKeyRecord,
} from "@mallgraph/platform/partner-keys";
import { createTestRedis, type TestRedis } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../scripts/operations.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { codes, createRedis, gql, login, startFederation, testConfig, type TestFederation } from "./helpers.ts";

const manifest = buildManifest(`
query PartnerWho { whoami { kind id } }
query PartnerItems($n: Int) { items(first: $n) { id name } }
`);
const who = manifest.operations.find((o) => o.name === "PartnerWho")!;
const items = manifest.operations.find((o) => o.name === "PartnerItems")!;
const byId = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

let fed: TestFederation;
let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
let gw: RunningGateway;

async function partnerKey(record: Omit<PartnerKeyRecord, "id" | "name"> & { id?: string }): Promise<{ key: string; id: string }> {
  const key = newPartnerKey();
  const id = record.id ?? `pk-${Math.random().toString(36).slice(2)}`;
  await mirrorPartnerKey(redis, tr.prefix, hashPartnerKey(key), {
    id,
    name: `partner ${id}`,
    operations: record.operations,
    rateLimitPerMinute: record.rateLimitPerMinute,
  });
  return { key, id };
}

beforeAll(async () => {
  fed = await startFederation();
  tr = createTestRedis();
  redis = createRedis(tr.url);
  gw = await createGateway({ config: testConfig(fed, tr.prefix), port: 0, host: "127.0.0.1", supergraphSdl: fed.supergraphSdl, manifest });
});

afterAll(async () => {
  await gw?.stop();
  await fed?.stop();
  redis?.disconnect();
  await tr?.cleanup();
});

describe("partner keys (x-api-key)", () => {
  it("runs a granted manifest operation by id, and the identical document however formatted; the partner is the caller", async () => {
    const { key, id } = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: null });
    const headers = { "x-api-key": key, "apollographql-client-name": "acme-web" };
    const r = await gql(gw.url, undefined, { headers, ...byId(who.id) });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ whoami: { kind: "partner", id } });
    const same = await gql(gw.url, "query PartnerWho {\n  whoami { kind\n id }\n}", { headers });
    expect(same.body.data).toEqual({ whoami: { kind: "partner", id } });
  });

  it("refuses, whatever the client name: the same document with one field more, an operation the key was not granted, any other query", async () => {
    const { key } = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: null });
    for (const client of [undefined, "acme-web", "partner-acme", "web"]) {
      const headers: Record<string, string> = { "x-api-key": key, ...(client ? { "apollographql-client-name": client } : {}) };
      const oneMore = "query PartnerWho { whoami { kind id service } }";
      for (const attempt of [
        { query: oneMore },
        { query: oneMore, ...byId(createHash("sha256").update(oneMore).digest("hex")) },
        { query: undefined, ...byId(items.id) },
        { query: items.body },
        { query: "{ whoami { kind } }" },
      ]) {
        const r = await gql(gw.url, attempt.query, { headers, extensions: (attempt as any).extensions });
        expect(codes(r), `${client}: ${attempt.query ?? "by id"}`).toEqual(["OPERATION_NOT_TRUSTED"]);
        expect(r.body.data ?? null).toBeNull();
      }
    }
  });

  it("refuses an unknown key, and a key sent with an access token, as UNAUTHENTICATED", async () => {
    const unknown = await gql(gw.url, undefined, { headers: { "x-api-key": newPartnerKey() }, ...byId(who.id) });
    expect(unknown.status).toBe(401);
    expect(codes(unknown)).toEqual(["UNAUTHENTICATED"]);
    const { key } = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: null });
    const { token } = await login(redis, tr.prefix, fed.key, { sub: "m-partner" });
    expect(codes(await gql(gw.url, undefined, { token, headers: { "x-api-key": key }, ...byId(who.id) }))).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses a revoked key within 1 s", async () => {
    const { key } = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: null });
    const headers = { "x-api-key": key };
    expect((await gql(gw.url, undefined, { headers, ...byId(who.id) })).status).toBe(200);
    const revokedAt = Date.now();
    await dropPartnerKeyMirror(redis, tr.prefix, hashPartnerKey(key));
    let r;
    do r = await gql(gw.url, undefined, { headers, ...byId(who.id) });
    while (r.status === 200 && Date.now() - revokedAt < 3000);
    const after = Date.now() - revokedAt;
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    expect(after).toBeLessThan(1000);
  });

  it("limits each key by its own rate, apart from other keys", async () => {
    const slow = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: 3 });
    const other = await partnerKey({ operations: ["PartnerWho"], rateLimitPerMinute: 3 });
    const run = (key: string) => gql(gw.url, undefined, { headers: { "x-api-key": key }, ...byId(who.id) });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await run(slow.key)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await run(other.key)).status).toBe(200);
  });
});
