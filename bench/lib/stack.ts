/**
 * The stack the benchmarks run against: the whole platform as processes (scripts/stack.ts) on the
 * dedicated database `mallgraph_bench` (migrated and seeded with the demo data), Redis prefix
 * `bench`, rate limits lifted, NODE_ENV=production, free ports (the machine is shared). Both are
 * emptied first: a previous run's unpaid orders would otherwise come due as thousands of time-out
 * jobs in the middle of this run and burn the workers' CPU (seen on 30 November: product detail at
 * a third of its figure while the workers cancelled another run's orders).
 * BENCH_URL=<gateway url> uses a stack that is already up instead; BENCH_DATABASE and
 * BENCH_REDIS_PREFIX give a run its own database and keys (two benches at once on a shared machine).
 */
import { Redis } from "ioredis";
import pg from "pg";
import { loadConfig } from "../../packages/platform/src/config.ts";
import { generateSecrets } from "../../scripts/secrets.ts";
import { setup } from "../../scripts/setup.ts";
import { freePort, processGroup, startStack, type Stack } from "../../scripts/stack.ts";

export const BENCH_ENV = {
  REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX ?? "bench",
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_MINUTE: "100000000",
  NODE_ENV: "production",
  // every figure is the real path: the stack's gateway never answers from its response cache (it
  // serves anonymous callers and members' PUBLIC answers, decision 0023); the cached rows run against
  // a second gateway that has it on (startCachedGateway)
  GATEWAY_RESPONSE_CACHE: "off",
};

export function benchDatabaseUrl(): string {
  const dbUrl = new URL(loadConfig().DATABASE_URL);
  dbUrl.pathname = `/${process.env.BENCH_DATABASE ?? "mallgraph_bench"}`;
  return dbUrl.toString();
}

export async function bootBenchStack(opts: { env?: Record<string, string>; setup?: boolean } = {}): Promise<Stack> {
  if (process.env.BENCH_URL)
    return {
      gatewayUrl: process.env.BENCH_URL,
      env: process.env,
      processes: new Map(),
      logs: () => "",
      output: () => "",
      kill: async () => {
        throw new Error("BENCH_URL: the stack is not ours to stop");
      },
      restart: async () => {
        throw new Error("BENCH_URL: the stack is not ours to start");
      },
      stop: async () => undefined,
    };
  // production refuses development secrets: fresh ones per run; a fixed operator password (the bench
  // database keeps its seeded operator between runs)
  const { INTERNAL_SECRET, JWT_PRIVATE_JWK } = await generateSecrets();
  const env = {
    DATABASE_URL: benchDatabaseUrl(),
    ...BENCH_ENV,
    INTERNAL_SECRET,
    JWT_PRIVATE_JWK,
    ADMIN_PASSWORD: "bench-operator-password",
    // the port a profiled process opens its inspector on (bench/lib/profiler.ts; another bench may hold 9229)
    ...(process.env.BENCH_INSPECT_PORT
      ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --inspect-port=${process.env.BENCH_INSPECT_PORT}`.trim() }
      : {}),
    ...opts.env,
  };
  Object.assign(process.env, env);
  if (opts.setup !== false) await emptyBenchStores(env.DATABASE_URL, env.REDIS_PREFIX);
  if (opts.setup !== false) await setup(loadConfig({ ...process.env, ...env }));
  // A loaded shared machine boots the stack slowly: wait up to BENCH_READY_TIMEOUT_MS (default 4 min).
  return startStack({ env, stdio: "pipe", randomPorts: true, readyTimeoutMs: Number(process.env.BENCH_READY_TIMEOUT_MS ?? 240_000) });
}

/** Drops the bench database and deletes the bench prefix's Redis keys (both belong to the benches alone). */
async function emptyBenchStores(databaseUrl: string, prefix: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = "/postgres";
  url.search = "";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  const redis = new Redis(loadConfig().REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** The URL of one subgraph of a running stack. */
export function subgraphUrlOf(stack: Stack, domain: string): string {
  const port = stack.env[`${domain.toUpperCase()}_PORT`];
  if (!port) throw new Error(`no port for ${domain}`);
  return `http://127.0.0.1:${port}/graphql`;
}

/** A gateway process started next to a bench stack: its GraphQL URL, its pid (CPU meter) and how to stop it. */
export interface ExtraGateway {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * A second gateway with the response cache ON against the stack's running subgraphs, Redis and
 * database (same settings and secrets, its own port and INSTANCE_ID), so the cached figures are
 * measured while every other row keeps the stack's gateway with GATEWAY_RESPONSE_CACHE=off. Against
 * a stack that is already up (BENCH_URL) the cached gateway's URL is BENCH_CACHED_URL.
 */
export async function startCachedGateway(stack: Stack): Promise<ExtraGateway> {
  if (process.env.BENCH_URL) {
    const url = process.env.BENCH_CACHED_URL;
    if (!url)
      throw new Error("BENCH_URL: give the URL of a gateway with GATEWAY_RESPONSE_CACHE=on as BENCH_CACHED_URL for the cached rows");
    return { url, pid: 0, stop: async () => undefined };
  }
  return startExtraGateway(stack, "gateway-cached", { GATEWAY_RESPONSE_CACHE: "on" });
}

/**
 * Another gateway process against the stack's subgraphs, Redis and database (same settings and
 * secrets, its own port and INSTANCE_ID), with these settings on top; `cwd`: its code from another
 * checkout of the repository (an A/B of the gateway's code on one stack, bench/gateway-ab.ts).
 */
export async function startExtraGateway(stack: Stack, name: string, env: Record<string, string>, cwd?: string): Promise<ExtraGateway> {
  const port = await freePort();
  const group = processGroup(stack.env, { stdio: "pipe", readyTimeoutMs: Number(process.env.BENCH_READY_TIMEOUT_MS ?? 240_000) });
  try {
    await group.start([
      {
        name,
        file: "gateway/src/index.ts",
        env: { GATEWAY_PORT: String(port), INSTANCE_ID: name, ...env },
        readyUrl: `http://127.0.0.1:${port}/ready`,
        cwd,
      },
    ]);
  } catch (e) {
    await group.stop();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}/graphql`, pid: group.processes.get(name)?.pid ?? 0, stop: group.stop };
}
