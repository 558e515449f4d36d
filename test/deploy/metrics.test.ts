/**
 * /metrics of the platform's processes: a subgraph's request and resolver durations, Prisma and
 * Redis call counts, and the workers' job durations, failures and queue depth — with exact counts
 * (each test file runs in its own process, so the registry starts empty).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { collectDefaultMetrics, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry, startOpsServer } from "@mallgraph/platform/metrics";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { createQueue, createWorker, closeQueueConnections, QueueName, type Queue, type Worker } from "@mallgraph/platform/queue";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, createTestSchema, REPO_ROOT, waitFor, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { GatewayMetrics } from "../../gateway/src/metrics.ts";
import { PrismaClient } from "../../subgraphs/catalog/src/generated/prisma/client.ts";

let tr: TestRedis;
let redis: Redis;
let sub: RunningSubgraph;
let db: TestSchema;
let prisma: PrismaClient;

/** `name{labels} value` lines of a Prometheus text body, as a lookup by exact series. */
async function scrape(url: string): Promise<(series: string) => number | undefined> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return (series) => values.get(series);
}

beforeAll(async () => {
  tr = createTestRedis();
  redis = createRedis(tr.url);
  db = await createTestSchema("catalog");
  prisma = new PrismaClient({ adapter: runtimeAdapter(db.url) });
  sub = await startSubgraph<any>({
    name: "metered",
    port: 0,
    internalSecret: "test-internal-secret-0123456789",
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Thing @key(fields: "id") { id: ID! brands: Int! }
      type Query { brandCount: Int! boom: Int thing(id: ID!): Thing }
    `,
    context: (base) => base,
    resolvers: {
      Query: {
        brandCount: async () => {
          await redis.get(`${tr.prefix}:probe`);
          return prisma.brand.count();
        },
        boom: async () => {
          throw new Error("no");
        },
        thing: (_: unknown, a: { id: string }) => ({ id: a.id }),
      },
      Thing: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), brands: () => 0 },
    },
  });
});

afterAll(async () => {
  await sub?.stop();
  await prisma?.$disconnect();
  await db?.drop();
  redis?.disconnect();
  await closeQueueConnections();
  await tr?.cleanup();
});

const post = (query: string) => fetch(sub.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) }).then((r) => r.json());

describe("subgraph /metrics", () => {
  it("counts requests, times root and entity resolvers by outcome, and counts Prisma statements and Redis commands", async () => {
    expect(await post("{ brandCount }")).toEqual({ data: { brandCount: 0 } });
    expect(await post("{ brandCount }")).toEqual({ data: { brandCount: 0 } });
    expect((await post("{ boom }")).errors).toHaveLength(1);
    const entities = await post('{ _entities(representations: [{ __typename: "Thing", id: "t1" }]) { ... on Thing { id brands } } }');
    expect(entities).toEqual({ data: { _entities: [{ id: "t1", brands: 0 }] } });

    const m = await scrape(sub.url.replace("/graphql", "/metrics"));
    expect(m('mg_subgraph_request_duration_seconds_count{subgraph="metered",route="/graphql",status="2xx"}')).toBe(4);
    expect(m('mg_subgraph_resolver_duration_seconds_count{subgraph="metered",field="Query.brandCount",outcome="ok"}')).toBe(2);
    expect(m('mg_subgraph_resolver_duration_seconds_count{subgraph="metered",field="Query.boom",outcome="error"}')).toBe(1);
    expect(m('mg_subgraph_resolver_duration_seconds_count{subgraph="metered",field="Thing.__resolveReference",outcome="ok"}')).toBe(1);
    // Nested fields are not wrapped (no per-field cost).
    expect(m('mg_subgraph_resolver_duration_seconds_count{subgraph="metered",field="Thing.brands",outcome="ok"}')).toBeUndefined();
    expect(m(`mg_prisma_queries_total{schema="${db.schema}",kind="query"}`)).toBe(2);
    expect(m('mg_redis_commands_total{command="get"}')).toBe(2);
    expect(m("mg_process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});

describe("workers /metrics", () => {
  let queue: Queue;
  let worker: Worker;

  it("times jobs per queue and outcome, counts failed attempts per job name, and reads queue depth when scraped", async () => {
    const ctx = { redisUrl: tr.url, redisPrefix: tr.prefix };
    queue = createQueue(ctx, QueueName.messages, { attempts: 1 });
    worker = createWorker(ctx, QueueName.messages, async (job) => {
      if (job.name === "bad") throw new Error("refused");
      return "ok";
    });
    await Promise.all([1, 2, 3].map((i) => queue.add("send", { i })));
    await Promise.all([1, 2].map((i) => queue.add("bad", { i })));
    await Promise.all([1, 2].map((i) => queue.add("send", { later: i }, { delay: 60_000 })));
    const ops = await startOpsServer({ name: "workers", port: 0, ready: async () => void (await redis.ping()) });
    try {
      const url = `http://127.0.0.1:${ops.port}/metrics`;
      const m = await waitFor(async () => {
        const s = await scrape(url);
        return s('mg_job_duration_seconds_count{queue="message-send",outcome="completed"}') === 3 && s('mg_job_failures_total{queue="message-send",job="bad"}') === 2 ? s : undefined;
      }, "3 completed and 2 failed jobs in /metrics");
      expect(m('mg_job_duration_seconds_count{queue="message-send",outcome="failed"}')).toBe(2);
      expect(m('mg_queue_jobs{queue="message-send",state="delayed"}')).toBe(2);
      expect(m('mg_queue_jobs{queue="message-send",state="failed"}')).toBe(2);
      expect(m('mg_queue_jobs{queue="message-send",state="waiting"}')).toBe(0);
      expect((await fetch(`http://127.0.0.1:${ops.port}/ready`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ops.port}/health`)).status).toBe(200);
    } finally {
      await ops.stop();
      await worker.close();
      await queue.close();
    }
  });
});

describe("the Grafana dashboard (deploy/grafana)", () => {
  it("queries only metrics the processes export", async () => {
    const dashboard = JSON.parse(readFileSync(path.join(REPO_ROOT, "deploy/grafana/mallgraph-dashboard.json"), "utf8"));
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults, prefix: "mg_" });
    const known = new Set([
      ...(await registry.getMetricsAsJSON()).map((m) => m.name),
      ...(await new GatewayMetrics().registry.getMetricsAsJSON()).map((m) => m.name),
      ...(await defaults.getMetricsAsJSON()).map((m) => m.name),
    ]);
    const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    expect(exprs.length).toBeGreaterThan(15);
    const used = new Set(exprs.flatMap((e) => e.match(/\bmg_[a-z0-9_]+/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, "")));
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    for (const n of ["mg_subgraph_request_duration_seconds", "mg_subgraph_resolver_duration_seconds", "mg_prisma_queries_total", "mg_redis_commands_total", "mg_queue_jobs", "mg_job_duration_seconds", "mg_job_failures_total"]) expect(used).toContain(n);
  });
});
