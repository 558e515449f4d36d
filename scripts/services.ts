/**
 * PostgreSQL and Redis for `npm start`: are they reachable — every database server the domains use
 * (DATABASE_URL and each `<DOMAIN>_DATABASE_URL`) and every node of a Redis Cluster? If not, say so in one line per service;
 * when Docker is available (`docker info` succeeds) start them with `docker compose up -d postgres
 * redis` and wait for them, otherwise print the two ways to get them.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { DATABASE_DOMAINS, domainDatabaseBase, type Config } from "../packages/platform/src/config.ts";
import { parseRedisClusterUrl } from "../packages/platform/src/redis-url.ts";

const root = path.resolve(import.meta.dirname, "..");

export const HOW_TO_GET_THEM = [
  "Get PostgreSQL 15+ and Redis 7+ one of two ways, then run `npm start` again:",
  "  1. with Docker:   docker compose up -d postgres redis",
  "  2. installed:     apt-get install postgresql redis-server   (macOS: brew install postgresql@15 redis)",
  "                    and point DATABASE_URL / REDIS_URL at them if they are not on 127.0.0.1:5432 / :6379.",
].join("\n");

const reason = (e: unknown) => ((e as NodeJS.ErrnoException).code ?? (e as Error).message).toString();

type ServiceConfig = Pick<Config, "DATABASE_URL" | "REDIS_URL"> & Partial<Config>;

/** Each PostgreSQL server in use (host:port) with the settings that point at it: DATABASE_URL and any `<DOMAIN>_DATABASE_URL`. */
function databaseServers(config: ServiceConfig): Map<string, { url: URL; settings: string[] }> {
  const servers = new Map<string, { url: URL; settings: string[] }>();
  const add = (setting: string, base: string) => {
    const u = new URL(base);
    u.pathname = "/postgres";
    u.search = "";
    const server = servers.get(u.host) ?? { url: u, settings: [] };
    server.settings.push(setting);
    servers.set(u.host, server);
  };
  add("DATABASE_URL", config.DATABASE_URL);
  for (const d of DATABASE_DOMAINS) {
    const setting = `${d.toUpperCase()}_DATABASE_URL`;
    const own = config[setting as keyof Config] as string | undefined;
    if (own) add(setting, domainDatabaseBase(config, d));
  }
  return servers;
}

async function pingRedis(url: string, timeoutMs: number): Promise<{ ok: true; r: Redis } | { ok: false; why: string }> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  let socketError: unknown;
  r.on("error", (e) => (socketError ??= e));
  try {
    await r.connect();
    await r.ping();
    return { ok: true, r };
  } catch (e) {
    r.disconnect();
    return { ok: false, why: reason(socketError ?? e) };
  }
}

/**
 * The one-line problem of each unreachable service (empty when all answer): every PostgreSQL server
 * named by DATABASE_URL or a `<DOMAIN>_DATABASE_URL`, and Redis — each node of REDIS_CLUSTER_NODES
 * (and whether the cluster serves every slot) when it is a cluster.
 */
export async function unreachable(config: ServiceConfig, timeoutMs = 2000): Promise<string[]> {
  const problems: string[] = [];
  for (const [host, { url, settings }] of databaseServers(config)) {
    const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: timeoutMs });
    c.on("error", () => undefined);
    try {
      await c.connect();
    } catch (e) {
      const usedBy = settings.length === 1 && settings[0] === "DATABASE_URL" ? "" : `, used by ${settings.join(", ")}`;
      problems.push(`PostgreSQL is not reachable at ${host} (${reason(e)})${usedBy}.`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  const cluster = parseRedisClusterUrl(config.REDIS_URL);
  if (!cluster) {
    const r = await pingRedis(config.REDIS_URL, timeoutMs);
    if (r.ok) r.r.disconnect();
    else problems.push(`Redis is not reachable at ${new URL(config.REDIS_URL).host} (${r.why}).`);
    return problems;
  }
  for (const { host, port } of cluster.nodes) {
    const auth =
      cluster.username || cluster.password
        ? `${encodeURIComponent(cluster.username ?? "")}:${encodeURIComponent(cluster.password ?? "")}@`
        : "";
    const r = await pingRedis(`${cluster.tls ? "rediss" : "redis"}://${auth}${host}:${port}`, timeoutMs);
    if (!r.ok) {
      problems.push(`Redis Cluster node is not reachable at ${host}:${port} (${r.why}).`);
      continue;
    }
    const info = String(await r.r.call("CLUSTER", "INFO").catch((e: Error) => `cluster_state:${e.message}`));
    r.r.disconnect();
    const state = /cluster_state:(\S+)/.exec(info)?.[1] ?? "unknown";
    if (state !== "ok") problems.push(`Redis Cluster node ${host}:${port} does not serve every slot (cluster_state:${state}).`);
  }
  return problems;
}

export interface EnsureOptions {
  /** The docker binary (default `docker`; env MALLGRAPH_DOCKER). */
  docker?: string;
  /** How long to wait for the containers to answer. */
  waitMs?: number;
  say?: (line: string) => void;
}

/** Resolves when both services answer; throws with the lines to print when they cannot be had. */
export async function ensureServices(config: ServiceConfig, opts: EnsureOptions = {}): Promise<void> {
  const say = opts.say ?? ((l: string) => console.log(l));
  let problems = await unreachable(config);
  if (!problems.length) return;
  for (const p of problems) say(p);
  const docker = opts.docker ?? process.env.MALLGRAPH_DOCKER ?? "docker";
  const info = spawnSync(docker, ["info"], { stdio: "ignore", timeout: 10_000 });
  if (info.status !== 0) throw new Error(`PostgreSQL and Redis are needed and Docker is not available.\n${HOW_TO_GET_THEM}`);
  say("Docker is available: starting them with `docker compose up -d postgres redis`…");
  const up = spawnSync(docker, ["compose", "up", "-d", "postgres", "redis"], { cwd: root, stdio: "inherit" });
  if (up.status !== 0) throw new Error(`\`docker compose up -d postgres redis\` failed (exit ${up.status}).\n${HOW_TO_GET_THEM}`);
  const until = Date.now() + (opts.waitMs ?? 90_000);
  while ((problems = await unreachable(config, 1000)).length) {
    if (Date.now() > until)
      throw new Error(`started the containers, but after ${Math.round((opts.waitMs ?? 90_000) / 1000)} s: ${problems.join(" ")}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  say("PostgreSQL and Redis are up.");
}
