/**
 * Plain SQL on a domain's pg pool, beside its Prisma client (decision 0035). Prisma 6.19's client
 * compiles every call — `$queryRaw` and `$executeRaw` included — in its WebAssembly query compiler
 * and interprets the plan, about 0.4–1 CPU ms a statement; a hot path that sends a handful of
 * statements per request spends more there than in PostgreSQL. This speaks to the same pool
 * (`runtimeDb` in prisma.ts hands it to the Prisma adapter too), counts on the same metric, and offers
 * the raw-SQL surface of a Prisma client (`$executeRawUnsafe`, `$queryRawUnsafe`, `$transaction`),
 * so the outbox and the workflow runner work on it unchanged.
 *
 * Results are pg's, with one change so they read like Prisma's: a `timestamp` (without time zone,
 * Prisma's DateTime) is UTC. `numeric` arrives as a string, `bigint` as a string (wrap them yourself);
 * pass instants as ISO strings (`toISOString()`), not Dates, for `timestamp` columns.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { OutboxSql } from "./outbox.ts";

const TIMESTAMP = 1114;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === TIMESTAMP && format !== "binary"
      ? (v: string) => new Date(`${v.replace(" ", "T")}Z`)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export type PgSql = OutboxSql;

export interface PgDb extends PgSql {
  /**
   * One transaction on one pooled connection; rolled back when `fn` throws or outlives `timeout` ms
   * (default 30 s). Refused with PoolWaitTimeout when no connection is free within `maxWait` ms
   * (default 2 s, Prisma's), instead of queueing without end behind an exhausted pool.
   */
  $transaction<R>(fn: (tx: PgSql) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

interface Counters {
  query: { inc(): void };
  execute: { inc(): void };
}

type Runner = { query(config: pg.QueryConfig): Promise<pg.QueryResult> };

/**
 * Statements run as named (prepared) statements, one name per text: PostgreSQL parses, analyses and
 * plans a text once per connection instead of on every call (decision 0046). Measured on this machine,
 * backend CPU per call: the idempotency look-up 45 → 25 µs, a CTE over `jsonb_to_recordset` 130 →
 * 35 µs. Bounded: only the first MAX_NAMED distinct texts of a process get a name (a text built with
 * literal values would otherwise fill every connection with statements); later ones run unnamed.
 */
const MAX_NAMED = 200;
const names = new Map<string, string>();
let renames = 0;

function statementName(text: string): string | undefined {
  const known = names.get(text);
  if (known !== undefined || names.size >= MAX_NAMED) return known;
  const name = `mg_${createHash("sha256").update(text).digest("base64url").slice(0, 40)}`;
  names.set(text, name);
  return name;
}

/**
 * PostgreSQL plans a prepared statement again by itself after DDL on its tables, except when the rows
 * it answers change shape: a `SELECT *` or `RETURNING *` over a table that an expand migration gave a
 * column (a rolling upgrade: this process keeps running while the migration applies) fails on that
 * connection with 0A000 "cached plan must not change result type", on every call, for as long as the
 * connection lives. The text gets a new name then, so each connection prepares it once more.
 */
function stalePlan(e: unknown, name: string | undefined, text: string): boolean {
  if (name === undefined || (e as { code?: unknown } | null)?.code !== "0A000") return false;
  if (names.get(text) === name) names.set(text, `${name}_${++renames}`);
  return true;
}

/** `retry`: a statement on its own (autocommit) runs once more after a stale plan; in a transaction the error aborts it, so it goes to the caller. */
function sqlOn(client: Runner, c: Counters, retry: boolean): PgSql {
  const run = async (text: string, values: unknown[]) => {
    const name = statementName(text);
    try {
      return await client.query({ name, text, values, types });
    } catch (e) {
      if (!stalePlan(e, name, text) || !retry) throw e;
      return client.query({ name: statementName(text), text, values, types });
    }
  };
  return {
    async $executeRawUnsafe(text: string, ...values: unknown[]) {
      c.execute.inc();
      return (await run(text, values)).rowCount ?? 0;
    },
    async $queryRawUnsafe<T = unknown>(text: string, ...values: unknown[]): Promise<T> {
      c.query.inc();
      return (await run(text, values)).rows as T;
    },
  };
}

class TransactionTimeout extends Error {}

/** No pooled connection became free within a transaction's `maxWait`. */
export class PoolWaitTimeout extends Error {}

/** A connection of the pool within `ms`; one that arrives after the deadline goes straight back. */
function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new PoolWaitTimeout(`no database connection free within ${ms} ms (pool of ${pool.options.max ?? 10})`));
    }, ms);
    pool.connect().then(
      (client) => {
        if (late) return client.release();
        clearTimeout(timer);
        resolve(client);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!late) reject(e);
      },
    );
  });
}

export function pgSql(pool: pg.Pool, c: Counters): PgDb {
  return {
    ...sqlOn(pool, c, true),
    async $transaction(fn, options) {
      const client = await connectWithin(pool, options?.maxWait ?? 2_000);
      let broken: Error | undefined;
      let timer: NodeJS.Timeout | undefined;
      try {
        c.execute.inc();
        await client.query("BEGIN");
        const timeout = options?.timeout ?? 30_000;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TransactionTimeout(`transaction timed out after ${timeout} ms`)), timeout);
        });
        const r = await Promise.race([fn(sqlOn(client, c, false)), expired]);
        c.execute.inc();
        await client.query("COMMIT");
        return r;
      } catch (e) {
        // A timed-out `fn` may still be sending statements: the connection is closed instead (the
        // server rolls back); so is one whose ROLLBACK failed.
        if (e instanceof TransactionTimeout) broken = e;
        else {
          c.execute.inc();
          await client.query("ROLLBACK").catch((re: Error) => (broken = re));
        }
        throw e;
      } finally {
        clearTimeout(timer);
        client.release(broken ?? false);
      }
    },
  };
}
