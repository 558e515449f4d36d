/**
 * Prisma on these machines (see docs/decisions/0002-prisma-wasm-engine.md): the Rust-free client
 * with the pg driver adapter at run time, and a patched adapter for the WASM schema engine
 * (migrations). Each subgraph has its own PostgreSQL schema, named by `?schema=` in its URL.
 */
import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { parse } from "pg-connection-string";
import { defined } from "./errors.ts";
import { dbQueries } from "./metrics.ts";
import { pgSql, type PgDb } from "./pg-sql.ts";

/** Splits `?schema=` off a URL and returns discrete pg options with that schema as search_path. */
export function pgConfig(url: string, database?: string) {
  const u = new URL(url);
  const schema = u.searchParams.get("schema") ?? "public";
  u.searchParams.delete("schema");
  const c = parse(u.toString());
  return {
    schema,
    config: {
      host: c.host ?? undefined,
      port: c.port ? Number(c.port) : undefined,
      user: c.user,
      password: c.password,
      database: database ?? c.database ?? undefined,
      // public stays on the path for extensions installed there (pg_trgm). TimeZone=UTC: Prisma's
      // DateTime is a `timestamp` holding UTC and Prisma fills `@default(now())` itself, but the
      // hand-written SQL (decisions 0035, 0036), the outbox and the workflow runner leave such columns
      // to their database default or set them with now(), which a `timestamp` takes in the session's
      // zone — hours off on a server that is not set to UTC (subgraphs/promotion/test/plain-sql-rows.test.ts).
      options: `-c search_path="${schema}",public -c TimeZone=UTC`,
    },
  };
}

/**
 * PostgreSQL connections per process (docs/operations-runbook.md "Capacity"): each runtime adapter
 * opens a pool of up to `max`. A subgraph process has one adapter (`DATABASE_POOL_SIZE`, default 8);
 * the workers process one per domain (`WORKERS_DATABASE_POOL_SIZE` each, default 4: jobs, relays and
 * sweeps, not request traffic). One stack — six subgraphs with a database and the workers — then
 * opens at most 6 × 8 + 6 × 4 + 4 (member's message worker) = 76 of PostgreSQL's default 100.
 */
export const POOL_SIZE_DEFAULTS = { subgraph: 8, workers: 4 } as const;
export type ProcessKind = keyof typeof POOL_SIZE_DEFAULTS;
let processKind: ProcessKind = "subgraph";

/** The workers process says so before it builds its domains' services (smaller pools, its connections named so). */
export function setProcessKind(kind: ProcessKind): void {
  processKind = kind;
}

/** The pool size of this process's runtime adapters: the variable of its kind, else the default. */
export function poolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = processKind === "workers" ? env.WORKERS_DATABASE_POOL_SIZE : env.DATABASE_POOL_SIZE;
  const n = Number(raw);
  return raw && Number.isInteger(n) && n > 0 ? n : POOL_SIZE_DEFAULTS[processKind];
}

/**
 * The runtime driver adapter of one domain; counts the statements it sends (mg_prisma_queries_total).
 * Its connections carry `application_name` `mallgraph <kind> <schema>` (pg_stat_activity shows who holds what).
 */
export function runtimeAdapter(url: string, max = poolSize()): PrismaPg {
  const { schema, config } = pgConfig(url);
  return countedFactory(new PrismaPg({ ...config, max, application_name: appName(schema) }, { schema }), schema);
}

const appName = (schema: string) => `mallgraph ${processKind} ${schema}`.slice(0, 63);

/**
 * The runtime driver adapter and plain SQL on the same pool (pg-sql.ts, decision 0035) for a
 * domain's hot paths; both count on mg_prisma_queries_total. `end` closes the pool: call it after
 * the Prisma client's `$disconnect` (which leaves a pool it was given open).
 */
export function runtimeDb(url: string, max = poolSize()): { adapter: PrismaPg; sql: PgDb; end: () => Promise<void> } {
  const { schema, config } = pgConfig(url);
  const pool = new pg.Pool({ ...config, max, application_name: appName(schema) });
  // an idle connection that breaks leaves the pool; without a listener its error would end the process
  pool.on("error", () => undefined);
  // one pg at run time; the adapter's @types/pg is a newer copy than ours (the cast bridges the two)
  const adapter = countedFactory(new PrismaPg(pool as unknown as ConstructorParameters<typeof PrismaPg>[0], { schema }), schema);
  let ended: Promise<void> | undefined;
  return { adapter, sql: pgSql(pool, counters(schema)), end: () => (ended ??= pool.end()) };
}

const counters = (schema: string) => ({ query: dbQueries.labels(schema, "query"), execute: dbQueries.labels(schema, "execute") });

function countedFactory(factory: PrismaPg, schema: string): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => counted(await connect(), counters(schema));
  return factory;
}

/**
 * The adapter methods these wrappers replace: adapter-pg internals (performIO) or methods whose
 * `this` and results the wrappers pass through untouched.
 */
type Methods = Record<string, ((this: unknown, ...args: unknown[]) => unknown) | undefined>;

/** Wraps an adapter (and the transactions it opens) so each queryRaw/executeRaw increments a counter. */
function counted<T>(q: T, c: { query: { inc(): void }; execute: { inc(): void } }): T {
  const a = q as unknown as Methods;
  for (const [method, counter] of [
    ["queryRaw", c.query],
    ["executeRaw", c.execute],
  ] as const) {
    const original = a[method];
    if (original)
      a[method] = function (this: unknown, ...args: unknown[]) {
        counter.inc();
        return original.apply(this, args);
      };
  }
  const startTransaction = a.startTransaction;
  if (startTransaction)
    a.startTransaction = async function (this: unknown, ...args: unknown[]) {
      return counted(await startTransaction.apply(this, args), c);
    };
  return q;
}

// ---- WASM schema engine adapter: works around two adapter-pg bugs (PRISMA.md) ----
const AS_TEXT = new Set([18, 19, 2278]);
/**
 * `"char"` columns the schema engine reads as a Rust char, not a string: reported as text they make
 * it panic ("RuntimeError: unreachable") as soon as a schema has a CHECK constraint (the constraint
 * query's `contype`). Those get ColumnTypeEnum.Character (6) in queryRaw's answer.
 */
const AS_CHARACTER = new Set(["constraint_type"]);
const CHARACTER_COLUMN = 6;
const characterColumns = new WeakMap<object, number[]>();
function patch<T>(q: T): T {
  const a = q as unknown as Methods;
  const performIO = a.performIO;
  a.performIO = async function (query: unknown) {
    const res = (await defined(performIO, "adapter-pg performIO").call(this, query)) as
      { fields?: Array<{ name: string; dataTypeID: number }> } | undefined;
    const chars: number[] = [];
    (res?.fields ?? []).forEach((f, i) => {
      if (f.dataTypeID === 18 && AS_CHARACTER.has(f.name)) chars.push(i);
      if (AS_TEXT.has(f.dataTypeID)) f.dataTypeID = 25;
    });
    if (chars.length && query && typeof query === "object") characterColumns.set(query, chars);
    return res;
  };
  const queryRaw = a.queryRaw;
  if (queryRaw)
    a.queryRaw = async function (this: unknown, query: unknown) {
      const res = (await queryRaw.call(this, query)) as { columnTypes: number[] };
      for (const i of characterColumns.get(query as object) ?? []) res.columnTypes[i] = CHARACTER_COLUMN;
      return res;
    };
  const startTransaction = a.startTransaction;
  if (startTransaction)
    a.startTransaction = async function (this: unknown, ...args: unknown[]) {
      return patch(await startTransaction.apply(this, args));
    };
  return q;
}

/**
 * adapter-pg's executeScript splits a migration on every ";", which breaks PL/pgSQL bodies
 * (functions, triggers). The native engine sends a migration as one multi-statement query; so do we.
 */
function wholeScript<T>(conn: T): T {
  (conn as { executeScript?: unknown }).executeScript = async function (
    this: { client: { query(sql: string): Promise<unknown> }; onError(error: unknown): void },
    script: string,
  ) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return conn;
}

export function migrateAdapter(url: string): PrismaPg {
  const { schema, config } = pgConfig(url);
  // A short idle time-out: pg's default (10 s) keeps the CLI alive that long after it is done.
  const factory = new PrismaPg({ ...config, idleTimeoutMillis: 200 }, { schema });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => wholeScript(patch(await connect()));
  factory.connectToShadowDb = async () => {
    const admin = await connect();
    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const shadow = await new PrismaPg(pgConfig(url, name).config, { schema }).connect();
    if (schema !== "public") await shadow.executeScript(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.dispose();
    };
    return wholeScript(patch(shadow));
  };
  return factory;
}
