/**
 * Prometheus metrics of a platform process (subgraphs and workers; the gateway keeps its own registry,
 * gateway/src/metrics.ts). One registry a process, served at GET /metrics. Kept cheap on the hot
 * path: label sets are bound once (`labels(...)` children cached), counters are plain increments,
 * durations one `process.hrtime.bigint()` pair, and nothing is computed per request that a scrape
 * can compute instead (queue depth is read from Redis when scraped).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { JobType } from "bullmq";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { instanceId } from "./instance.ts";

export const registry = new Registry();
let defaults = false;

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const requestDuration = new Histogram({
  name: "mg_subgraph_request_duration_seconds",
  help: "HTTP requests a subgraph answered, by subgraph, route and status class",
  labelNames: ["subgraph", "route", "status"],
  buckets: DURATION_BUCKETS,
  registers: [registry],
});
export const resolverDuration = new Histogram({
  name: "mg_subgraph_resolver_duration_seconds",
  help: "Root field and entity resolver durations (Query.x, Mutation.y, Type.__resolveReference), by outcome",
  labelNames: ["subgraph", "field", "outcome"],
  buckets: DURATION_BUCKETS,
  registers: [registry],
});
export const dbQueries = new Counter({
  name: "mg_prisma_queries_total",
  help: "SQL statements Prisma sent through the pg adapter, by PostgreSQL schema and kind",
  labelNames: ["schema", "kind"],
  registers: [registry],
});
export const redisCommands = new Counter({
  name: "mg_redis_commands_total",
  help: "Redis commands sent, by command",
  labelNames: ["command"],
  registers: [registry],
});
export const jobDuration = new Histogram({
  name: "mg_job_duration_seconds",
  help: "BullMQ job processing time (processedOn → finishedOn), by queue and outcome",
  labelNames: ["queue", "outcome"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});
export const jobFailures = new Counter({
  name: "mg_job_failures_total",
  help: "BullMQ job attempts that failed, by queue and job name",
  labelNames: ["queue", "job"],
  registers: [registry],
});

export const streamEntries = new Counter({
  name: "mg_stream_entries_total",
  help: "Redis stream entries a consumer group handled (done: acknowledged; retry: left pending for another delivery), by group",
  labelNames: ["group", "outcome"],
  registers: [registry],
});
export const reconciliations = new Counter({
  name: "mg_redis_reconcile_total",
  help: "What reconciliation runs found after Redis lost data (decision 0032), by domain and kind: rebuilt (items / rains), copied (first copies found only in Redis, copied to PostgreSQL now), lost (known to have been made, found nowhere)",
  labelNames: ["domain", "kind"],
  registers: [registry],
});

export const workflowRecoveries = new Counter({
  name: "mg_workflow_recoveries_total",
  help: "Durable workflow runs the sweep took over, by domain, workflow and outcome (resumed, compensated, retrying, failed)",
  labelNames: ["domain", "workflow", "outcome"],
  registers: [registry],
});
export const workflowCompensationFailures = new Counter({
  name: "mg_workflow_compensation_failures_total",
  help: "Compensations of durable workflow steps that failed (each is retried with backoff), by domain and workflow",
  labelNames: ["domain", "workflow"],
  registers: [registry],
});

type RunCounts = () => Promise<Array<{ workflow: string; status: string; n: number }>>;
const workflowSources = new Map<string, RunCounts[]>();
/** Unfinished and FAILED workflow runs per domain, read from each domain's table when scraped. */
new Gauge({
  name: "mg_workflow_runs",
  help: "Durable workflow runs by domain, workflow and status (RUNNING, COMPENSATING, FAILED: FAILED ones wait for an operator), read at scrape time",
  labelNames: ["domain", "workflow", "status"],
  registers: [registry],
  async collect() {
    this.reset();
    await Promise.all(
      [...workflowSources].map(async ([domain, sources]) => {
        // every runner of a domain reads the same table: the newest whose database answers is asked
        for (const counts of sources) {
          try {
            for (const r of await counts()) this.set({ domain, workflow: r.workflow, status: r.status }, r.n);
            return;
          } catch {
            /* this runner's pool is closed or the database unreachable: try an older one, else no sample */
          }
        }
      }),
    );
  },
});

/**
 * Reports a domain's workflow runs on /metrics (one query per scrape). A process may hold several
 * runners of a domain (the workers and a subgraph in one test process): the newest is asked first,
 * an older one when the newest's pool has been closed.
 */
export function reportWorkflowRuns(domain: string, counts: RunCounts): void {
  workflowSources.set(domain, [counts, ...(workflowSources.get(domain) ?? [])].slice(0, 8));
}

/** A cached bound child per label tuple: `bound(counter)(a, b).inc()` costs one Map lookup. */
export function bound<C>(metric: { labels(...values: string[]): C }): (...values: string[]) => C {
  const children = new Map<string, C>();
  return (...values: string[]) => {
    const key = values.join("\u0000");
    let c = children.get(key);
    if (!c) {
      c = metric.labels(...values);
      children.set(key, c);
    }
    return c;
  };
}

type DepthSource = { name: string; getJobCounts: (...types: JobType[]) => Promise<Record<string, number>> };
const depthSources = new Map<string, DepthSource>();
/** Queue depth per state, read when scraped from every queue a process registered. */
new Gauge({
  name: "mg_queue_jobs",
  help: "Jobs per queue and state (waiting, active, delayed, failed, prioritized, waiting-children), read at scrape time",
  labelNames: ["queue", "state"],
  registers: [registry],
  async collect() {
    this.reset();
    await Promise.all(
      [...depthSources.values()].map(async (q) => {
        try {
          const counts = await q.getJobCounts("waiting", "active", "delayed", "failed", "prioritized", "waiting-children");
          for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
        } catch {
          /* Redis unreachable: no sample for this queue */
        }
      }),
    );
  },
});

/** Reports a queue's depth on /metrics (one Redis call per queue per scrape); the latest queue of a name wins. */
export function reportQueueDepth(queue: DepthSource): void {
  depthSources.set(queue.name, queue);
}

/**
 * The registry's text. Process metrics (CPU, memory, event-loop lag, GC) start with the first
 * scrape, so a process nobody scrapes (the gateway, which has its own registry) pays nothing.
 */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  if (!defaults) {
    defaults = true;
    collectDefaultMetrics({ register: registry, prefix: "mg_" });
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * A process's operations endpoint when it has no other HTTP server (the workers): GET /health,
 * GET /ready (503 while `ready` throws) and GET /metrics.
 */
export async function startOpsServer(opts: {
  name: string;
  port: number;
  host?: string;
  ready?: () => Promise<void>;
}): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method !== "GET") return json(405, { status: "method not allowed" });
    if (path === "/health") return json(200, { status: "ok", service: opts.name, instance: instanceId() });
    if (path === "/ready") {
      try {
        await opts.ready?.();
        return json(200, { status: "ready" });
      } catch (e) {
        return json(503, { status: "unavailable", reason: String(e) });
      }
    }
    if (path === "/metrics") {
      const m = await metricsText();
      res.writeHead(200, { "content-type": m.contentType }).end(m.body);
      return;
    }
    json(404, { status: "not found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

type Resolver = (...args: unknown[]) => unknown;

/**
 * Times the root fields (Query.*, Mutation.*) and entity resolvers (Type.__resolveReference) of a
 * subgraph: the work a request asks for, without wrapping every nested field (no per-field cost).
 * Each wrapped resolver binds its two label children once.
 */
export function timedResolvers<R extends object>(subgraph: string, resolvers: R): R {
  const out = { ...resolvers } as Record<string, unknown>;
  for (const [type, fields] of Object.entries(resolvers)) {
    if (!fields || typeof fields !== "object" || Object.getPrototypeOf(fields) !== Object.prototype) continue; // scalars
    const root = type === "Query" || type === "Mutation";
    const wrapped: Record<string, unknown> = { ...fields };
    for (const [name, fn] of Object.entries(fields)) {
      if (typeof fn !== "function" || (!root && name !== "__resolveReference")) continue;
      wrapped[name] = timed(
        fn as Resolver,
        resolverDuration.labels(subgraph, `${type}.${name}`, "ok"),
        resolverDuration.labels(subgraph, `${type}.${name}`, "error"),
      );
    }
    out[type] = wrapped;
  }
  return out as R;
}

function timed(fn: Resolver, ok: Histogram.Internal<string>, error: Histogram.Internal<string>): Resolver {
  return function (this: unknown, ...args: unknown[]) {
    const started = process.hrtime.bigint();
    const done = (h: Histogram.Internal<string>) => h.observe(Number(process.hrtime.bigint() - started) / 1e9);
    try {
      const r = fn.apply(this, args);
      if (r && typeof (r as Promise<unknown>).then === "function") {
        return (r as Promise<unknown>).then(
          (v) => (done(ok), v),
          (e) => {
            done(error);
            throw e;
          },
        );
      }
      done(ok);
      return r;
    } catch (e) {
      done(error);
      throw e;
    }
  };
}
