/**
 * PostgreSQL and Redis for `npm start`: are they reachable? If not, say so in one line per service;
 * when Docker is available (`docker info` succeeds) start them with `docker compose up -d postgres
 * redis` and wait for them, otherwise print the two ways to get them.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import type { Config } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");

export const HOW_TO_GET_THEM = [
  "Get PostgreSQL 15+ and Redis 7+ one of two ways, then run `npm start` again:",
  "  1. with Docker:   docker compose up -d postgres redis",
  "  2. installed:     apt-get install postgresql redis-server   (macOS: brew install postgresql@15 redis)",
  "                    and point DATABASE_URL / REDIS_URL at them if they are not on 127.0.0.1:5432 / :6379.",
].join("\n");

const reason = (e: unknown) => ((e as NodeJS.ErrnoException).code ?? (e as Error).message).toString();

/** The one-line problem of each unreachable service (empty when both answer). */
export async function unreachable(config: Pick<Config, "DATABASE_URL" | "REDIS_URL">, timeoutMs = 2000): Promise<string[]> {
  const problems: string[] = [];
  const u = new URL(config.DATABASE_URL);
  u.pathname = "/postgres";
  u.search = "";
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: timeoutMs });
  c.on("error", () => undefined);
  try {
    await c.connect();
  } catch (e) {
    problems.push(`PostgreSQL is not reachable at ${u.host} (${reason(e)}).`);
  } finally {
    await c.end().catch(() => undefined);
  }
  const r = new Redis(config.REDIS_URL, {
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
  } catch (e) {
    const ru = new URL(config.REDIS_URL);
    problems.push(`Redis is not reachable at ${ru.host} (${reason(socketError ?? e)}).`);
  } finally {
    r.disconnect();
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
export async function ensureServices(config: Pick<Config, "DATABASE_URL" | "REDIS_URL">, opts: EnsureOptions = {}): Promise<void> {
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
