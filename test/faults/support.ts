/**
 * What the fault-injection tests share: a Redis server of their own (AOF on, so it can be killed and
 * restarted without touching the shared one on 6379), a proxy that makes one subgraph slow for the
 * gateway, a client that retries a buy or a grab with the same idempotency key until it gets a final
 * answer, and the counts read from PostgreSQL and Redis after each fault.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { waitFor } from "@mallgraph/platform/testing";
import { freePort } from "../../scripts/stack.ts";
import { RainKeys } from "../../subgraphs/lottery/src/services/rain-shared.ts";
import { shardKeys } from "../../subgraphs/promotion/src/services/keys.ts";
import { operation } from "../e2e/client.ts";

// ------------------------------------------------------------------------------------ redis-server

export interface RedisServer {
  url: string;
  port: number;
  /** `kill -9` of the server process. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and directory (its AOF is replayed). */
  start(): Promise<void>;
  /** SIGSTOP: every command waits (what a process sent it stays in flight) until `resume`. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "mg-faults-redis-"));
  let proc: ChildProcess | undefined;
  const ping = async () => {
    const r = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await r.connect();
      return (await r.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  };
  const start = async () => {
    proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
      { stdio: "ignore" },
    );
    await waitFor(ping, `redis-server on ${port} to start`, 10_000);
  };
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode ? r() : p.once("exit", () => r())));
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    pause: () => void proc?.kill("SIGSTOP"),
    resume: () => void proc?.kill("SIGCONT"),
    async kill9() {
      const p = proc;
      if (!p) return;
      p.kill("SIGKILL");
      await exited(p);
    },
    async stop() {
      const p = proc;
      if (p && p.exitCode === null && !p.signalCode) {
        p.kill("SIGTERM");
        await exited(p);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------ slow proxy

export interface SlowProxy {
  url: string;
  /** Each answer is held this long before it is passed on (0: pass through). */
  delayMs: number;
  /** Requests that reached the subgraph through the proxy. */
  requests: number;
  close(): Promise<void>;
}

/** An HTTP proxy in front of a subgraph's /graphql: the subgraph does the work at once, its answer comes `delayMs` late. */
export async function startSlowProxy(targetPort: number): Promise<SlowProxy> {
  const agent = new http.Agent({ keepAlive: true });
  const state = { delayMs: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const up = http.request(
      { host: "127.0.0.1", port: targetPort, path: req.url, method: req.method, headers: req.headers, agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () =>
          setTimeout(() => {
            if (res.destroyed) return;
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
          }, state.delayMs),
        );
      },
    );
    up.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  });
}

// ------------------------------------------------------------------------------------ clients

export interface Answer {
  code: string;
  reservationId?: string | null;
  amount?: string | null;
  /** Attempts it took (1 when the first one was answered). */
  attempts: number;
  /** What the failed attempts saw (error codes, "network"). */
  failures: string[];
}

/** One POST of a contract operation, with a time-out: a GraphQL error code, or "network" when no answer came. */
async function post(url: string, name: string, variables: Record<string, unknown>, token: string): Promise<{ data?: any; code?: string }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: operation(name).body, variables }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
    return { data: body.data, code: body.errors?.[0]?.extensions?.code ?? (body.data ? undefined : `HTTP_${res.status}`) };
  } catch {
    return { code: "network" };
  }
}

/**
 * Asks until a final answer comes: the same idempotency key every time, so a buy that was made while
 * its answer was lost (a time-out, a dying process) answers DUPLICATE with its reservation.
 */
export async function buyUntilAnswered(
  url: string,
  token: string,
  v: { sessionId: string; skuId: string; idempotencyKey: string },
  deadlineMs = 180_000,
): Promise<Answer> {
  const failures: string[] = [];
  const until = Date.now() + deadlineMs;
  for (let attempts = 1; ; attempts++) {
    const r = await post(url, "SeckillBuy", { ...v, quantity: 1 }, token);
    const answer = r.data?.seckillBuy as { code: string; reservationId: string | null } | undefined;
    if (answer && answer.code !== "NOT_ONLINE") return { ...answer, attempts, failures };
    failures.push(answer?.code ?? r.code ?? "unknown");
    if (Date.now() > until) throw new Error(`no final answer to a buy after ${attempts} attempts: ${failures.slice(-5).join(", ")}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Grabs until a final answer comes (a member grabs once: a repeat answers ALREADY_GRABBED with the same share). */
export async function grabUntilAnswered(url: string, token: string, rainId: string, deadlineMs = 180_000): Promise<Answer> {
  const failures: string[] = [];
  const until = Date.now() + deadlineMs;
  for (let attempts = 1; ; attempts++) {
    const r = await post(url, "GrabRedEnvelope", { rainId }, token);
    const answer = r.data?.grabRedEnvelope as { code: string; amount: string | null } | undefined;
    if (answer && answer.code !== "NOT_ONLINE") return { ...answer, attempts, failures };
    failures.push(answer?.code ?? r.code ?? "unknown");
    if (Date.now() > until) throw new Error(`no final answer to a grab after ${attempts} attempts: ${failures.slice(-5).join(", ")}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

export const newKey = () => randomUUID();

// ------------------------------------------------------------------------------------ counting

/** Reads the stack's databases (each domain's schema) and its Redis. */
export class Counter {
  constructor(
    readonly db: pg.Client,
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  static async open(databaseUrl: string, redisUrl: string, prefix: string): Promise<Counter> {
    const db = new pg.Client({ connectionString: databaseUrl.replace(/\?.*$/, "") });
    await db.connect();
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    redis.on("error", () => undefined); // the tests kill Redis: this client reconnects
    return new Counter(db, redis, prefix);
  }

  async close(): Promise<void> {
    await this.db.end();
    this.redis.disconnect();
  }

  private async one<T>(sql: string, args: unknown[]): Promise<T> {
    return (await this.db.query(sql, args)).rows[0] as T;
  }

  /** Stream entries of an item's shards not done yet (copy or order pending). */
  async seckillBacklog(sessionId: string, skuId: string, shards: number): Promise<number> {
    let n = 0;
    for (let s = 0; s < shards; s++) n += await this.redis.xlen(shardKeys(this.prefix, sessionId, skuId, s).stream);
    return n;
  }

  /** Entries delivered to a consumer of the group and not acknowledged yet. */
  private async pending(stream: string, group: string): Promise<number> {
    if (!(await this.redis.exists(stream))) return 0;
    const [count] = (await this.redis.xpending(stream, group).catch(() => [0])) as [number];
    return Number(count);
  }

  /** Entries delivered to a consumer and not acknowledged, over an item's shards (a graceful stop leaves none). */
  async seckillPending(sessionId: string, skuId: string, shards: number): Promise<number> {
    let n = 0;
    for (let s = 0; s < shards; s++) n += await this.pending(shardKeys(this.prefix, sessionId, skuId, s).stream, "seckill-orders");
    return n;
  }

  /** Grab entries of a rain delivered to a consumer and not acknowledged. */
  async rainPending(rainId: string): Promise<number> {
    return this.pending(new RainKeys(this.prefix).stream(rainId), "rain-credits");
  }

  /** Stock left of a seckill item (the sum of its shards' counters). */
  async seckillRedis(sessionId: string, skuId: string, shards: number): Promise<{ stock: number }> {
    let stock = 0;
    for (let s = 0; s < shards; s++) stock += Number((await this.redis.get(shardKeys(this.prefix, sessionId, skuId, s).stock)) ?? 0);
    return { stock };
  }

  async seckillCopies(sessionId: string): Promise<Array<{ id: string; status: string; orderId: string | null; quantity: number }>> {
    return (
      await this.db.query(`SELECT "id", "status", "orderId", "quantity" FROM "promotion"."SeckillReservation" WHERE "sessionId" = $1`, [
        sessionId,
      ])
    ).rows;
  }

  /** Orders per reservation of these ids: reservation id → order count. */
  async ordersOf(reservationIds: string[]): Promise<Map<string, { count: number; statuses: string[] }>> {
    const rows = (
      await this.db.query(
        `SELECT "seckillReservationId" AS rid, count(*)::int AS n, array_agg("status"::text) AS statuses FROM "order"."Order" WHERE "seckillReservationId" = ANY($1) GROUP BY 1`,
        [reservationIds],
      )
    ).rows as Array<{ rid: string; n: number; statuses: string[] }>;
    return new Map(rows.map((r) => [r.rid, { count: r.n, statuses: r.statuses }]));
  }

  async grabs(rainId: string): Promise<{ rows: number; credited: number; minor: string }> {
    return this.one(
      `SELECT count(*)::int AS rows, count("creditedAt")::int AS credited, coalesce(sum("amount"), 0)::text AS minor FROM "lottery"."RedEnvelopeGrab" WHERE "rainId" = $1`,
      [rainId],
    );
  }

  /** Credits in members' ledgers for a rain (reference rain:<rainId>:<memberId>): entries per member, and their sum. */
  async rainCredits(rainId: string): Promise<{ entries: number; members: number; total: string }> {
    return this.one(
      `SELECT count(*)::int AS entries, count(DISTINCT e."reference")::int AS members, coalesce(sum(e."amount"), 0)::text AS total
       FROM "member"."LedgerEntry" e JOIN "member"."WalletAccount" a ON a."id" = e."accountId"
       WHERE a."memberId" IS NOT NULL AND e."reference" LIKE $1`,
      [`rain:${rainId}:%`],
    );
  }
}

/** A counter of a Prometheus text exposition: the sum of the samples of `name` whose labels include `labels`. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(15_000) })).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
