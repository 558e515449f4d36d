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
