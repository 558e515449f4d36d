/**
 * Test helpers: every suite gets a throwaway PostgreSQL schema (or database) with the domain's
 * migrations applied, and a random Redis key/queue prefix; both are removed afterwards.
 * Real PostgreSQL and Redis — no mocks.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import type { AuditEntry } from "./audit.ts";
import { isUniqueViolation } from "./db-errors.ts";
import { QueueName } from "./queue.ts";
import { redisClusterUrl } from "./redis-url.ts";
import { createRedis, deleteByPrefix } from "./redis.ts";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
/** The tests' Redis: a Redis Cluster when REDIS_CLUSTER_NODES is set (the vitest project `redis-cluster`). */
export const TEST_REDIS_URL = process.env.REDIS_CLUSTER_NODES
  ? redisClusterUrl(process.env.REDIS_CLUSTER_NODES)
  : (process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379");

export function randomId(n = 6): string {
  return randomBytes(n).toString("hex");
}

/** A domain's migrations, oldest first: the directory name and its SQL. */
export function migrations(domain: string): Array<{ name: string; sql: string }> {
  const dir = path.join(REPO_ROOT, "prisma", domain, "migrations");
  if (!existsSync(dir)) return [];
  return (
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()
      // `migrate diff --from-empty` writes CREATE SCHEMA for the configured schema; tests pick their own.
      .map((name) => ({
        name,
        sql: readFileSync(path.join(dir, name, "migration.sql"), "utf8").replace(/^CREATE SCHEMA IF NOT EXISTS "[^"]+";$/gm, ""),
      }))
  );
}

/** The SQL of a domain's migrations, in order. */
export function migrationSql(domain: string): string[] {
  return migrations(domain).map((m) => m.sql);
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  u.search = "";
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates schema `schemaName` in the database at `url` and applies the domain's migrations to it. */
export async function applyMigrations(url: string, domain: string, schemaName: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
    await c.query(`SET search_path TO "${schemaName}", public`);
    for (const sql of migrationSql(domain)) await c.query(sql);
  });
}

export interface TestSchema {
  /** Connection URL with `?schema=` for Prisma (runtimeAdapter). */
  url: string;
  schema: string;
  drop: () => Promise<void>;
}

const TEST_DB = "mallgraph_test";

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!r.rowCount)
      await c.query(`CREATE DATABASE "${name}"`).catch((e) => {
        // 42P04: created meanwhile; a unique violation: two CREATE DATABASE racing on pg_database
        if (e.code !== "42P04" && !isUniqueViolation(e)) throw e;
      });
  });
}

/** A throwaway schema with `domain`'s migrations, in the shared test database. */
export async function createTestSchema(domain: string): Promise<TestSchema> {
  await ensureDatabase(TEST_PG_URL, TEST_DB);
  const dbUrl = withDatabase(TEST_PG_URL, TEST_DB);
  const schema = `t_${domain}_${randomId(4)}`;
  await applyMigrations(dbUrl, domain, schema);
  const u = new URL(dbUrl);
  u.searchParams.set("schema", schema);
  return {
    url: u.toString(),
    schema,
    drop: () => withClient(dbUrl, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined),
  };
}

export interface TestDatabase {
  /** Base URL (no schema); each domain's schema is named after the domain, as in production. */
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A throwaway database with every listed domain migrated into its own schema (end-to-end tests). */
export async function createTestDatabase(domains: readonly string[]): Promise<TestDatabase> {
  const name = `mallgraph_e2e_${randomId(4)}`;
  await withClient(TEST_PG_URL, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = withDatabase(TEST_PG_URL, name);
  for (const d of domains) await applyMigrations(url, d, d);
  return {
    url,
    name,
    drop: () => withClient(TEST_PG_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

export interface TestRedis {
  prefix: string;
  url: string;
  cleanup: () => Promise<void>;
}

/** A random key prefix; cleanup deletes every key under it (BullMQ queues included). */
export function createTestRedis(): TestRedis {
  const prefix = `t${randomId(4)}`;
  return {
    prefix,
    url: TEST_REDIS_URL,
    cleanup: async () => {
      const r = createRedis(TEST_REDIS_URL);
      try {
        await deleteByPrefix(r, prefix);
      } finally {
        r.disconnect();
      }
    },
  };
}

/**
 * The one polling helper of the tests: calls `fn` every `pauseMs` until it returns something truthy
 * and returns that (or fails after `timeoutMs`, naming `what`).
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 30_000,
  pauseMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/**
 * Settings production accepts (config.productionProblems): fresh random secrets and a generated JWT
 * key, the SANDBOX channel off. Tests that run with NODE_ENV=production spread these in.
 */
export async function productionEnv(): Promise<Record<string, string>> {
  const { generateSigningKey } = await import("./auth.ts");
  const { privateJwk } = await generateSigningKey();
  return {
    NODE_ENV: "production",
    INTERNAL_SECRET: randomBytes(32).toString("base64url"),
    ADMIN_PASSWORD: randomBytes(12).toString("base64url"),
    JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    SANDBOX_ENABLED: "false",
  };
}

/** The audit entries a domain wrote into its outbox (decision 0024), oldest first; one operation's when named. */
export async function outboxAuditEntries(
  db: { $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> },
  operation?: string,
): Promise<AuditEntry[]> {
  const rows = await db.$queryRawUnsafe<Array<{ data: AuditEntry }>>(
    `SELECT "data" FROM "Outbox" WHERE "queue" = $1 AND ($2::text IS NULL OR "data"->>'operation' = $2) ORDER BY "createdAt", "id"`,
    QueueName.auditEntries,
    operation ?? null,
  );
  return rows.map((r) => r.data);
}
