/**
 * pgSql's transactions (decision 0035) on a real PostgreSQL pool: `maxWait` bounds the wait for a
 * pooled connection (review finding: it was accepted and ignored, so callers queued without end behind
 * an exhausted pool), and a connection that frees up after the deadline goes back to the pool.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PoolWaitTimeout, pgSql } from "../src/pg-sql.ts";
import { TEST_PG_URL } from "../src/testing.ts";

const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: 1 });
const counted = { query: { inc() {} }, execute: { inc() {} } };
const db = pgSql(pool, counted);
afterAll(() => pool.end());

describe("pgSql statements", () => {
  it("run prepared, one named statement per text and connection, with the same results each time (decision 0046)", async () => {
    const text = `SELECT $1::int + 1 AS n, ${Math.random()}::float > 2 AS never`;
    for (const i of [1, 2, 3]) expect(await db.$queryRawUnsafe(text, i)).toEqual([{ n: i + 1, never: false }]);
    expect(await db.$executeRawUnsafe(text, 7)).toBe(1);
    const prepared = await db.$queryRawUnsafe<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1`,
      text,
    );
    expect(prepared).toEqual([{ n: 1 }]);
    // inside a transaction too, on the connection's statements
    const inTx = await db.$transaction((tx) => tx.$queryRawUnsafe(text, 41));
    expect(inTx).toEqual([{ n: 42, never: false }]);
  });

  it("a table that gains a column under a running process (expand migration): a prepared `SELECT *` is prepared again, not failed on every call", async () => {
    const table = `pg_sql_stale_${process.pid}`;
    await pool.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (a int); INSERT INTO ${table} VALUES (1)`);
    try {
      const star = `SELECT * FROM ${table}`;
      expect(await db.$queryRawUnsafe(star)).toEqual([{ a: 1 }]);
      await pool.query(`ALTER TABLE ${table} ADD COLUMN b int DEFAULT 2`);
      // on its own: answered at once with the new shape (PostgreSQL's 0A000 "cached plan must not change result type" before)
      expect(await db.$queryRawUnsafe(star)).toEqual([{ a: 1, b: 2 }]);
      await pool.query(`ALTER TABLE ${table} ADD COLUMN c int DEFAULT 3`);
      // in a transaction the error aborts it and reaches the caller once; the next transaction prepares it again
      await expect(db.$transaction((tx) => tx.$queryRawUnsafe(star))).rejects.toMatchObject({ code: "0A000" });
      expect(await db.$transaction((tx) => tx.$queryRawUnsafe(star))).toEqual([{ a: 1, b: 2, c: 3 }]);
    } finally {
      await pool.query(`DROP TABLE ${table}`);
    }
  });
});

describe("pgSql.$transaction", () => {
  it("is refused with PoolWaitTimeout when no connection frees up within maxWait; the late connection returns to the pool", async () => {
    const held = await pool.connect();
    const started = performance.now();
    await expect(db.$transaction(async (tx) => tx.$queryRawUnsafe("SELECT 1"), { maxWait: 150 })).rejects.toBeInstanceOf(PoolWaitTimeout);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    // the refused call's connect() is still queued: it gets `held` once released, and gives it back
    held.release();
    await expect.poll(() => pool.idleCount).toBe(1);
    expect(pool.waitingCount).toBe(0);
    // the pool of one still serves the next transaction
    const rows = await db.$transaction(async (tx) => tx.$queryRawUnsafe<Array<{ n: number }>>("SELECT 41 + 1 AS n"), { maxWait: 1_000 });
    expect(rows).toEqual([{ n: 42 }]);
  });

  it("waits for a connection freed within maxWait, then commits", async () => {
    const held = await pool.connect();
    setTimeout(() => held.release(), 100);
    const rows = await db.$transaction(async (tx) => tx.$queryRawUnsafe<Array<{ ok: boolean }>>("SELECT true AS ok"), { maxWait: 5_000 });
    expect(rows).toEqual([{ ok: true }]);
  });
});
