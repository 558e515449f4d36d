/**
 * One check for constraint violations (db-errors.ts), fed the errors PostgreSQL and the Prisma
 * driver adapter really raise (a throwaway schema), and the shapes Prisma's client wraps them in.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isForeignKeyViolation, isUniqueViolation, uniqueViolationTarget } from "../src/db-errors.ts";
import { runtimeAdapter } from "../src/prisma.ts";
import { TEST_PG_URL, randomId } from "../src/testing.ts";

const schema = `dberr_${randomId()}`;
const client = new pg.Client({ connectionString: TEST_PG_URL });
const caught = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );

beforeAll(async () => {
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`CREATE TABLE "${schema}".parent (id int PRIMARY KEY, code text UNIQUE)`);
  await client.query(`CREATE TABLE "${schema}".child (id int PRIMARY KEY, "parentId" int REFERENCES "${schema}".parent(id))`);
  await client.query(`INSERT INTO "${schema}".parent VALUES (1, 'a')`);
});
afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe("constraint violations", () => {
  it("recognises PostgreSQL's own errors (23505, 23503) and tells them apart", async () => {
    const dup = await caught(client.query(`INSERT INTO "${schema}".parent VALUES (2, 'a')`));
    const orphan = await caught(client.query(`INSERT INTO "${schema}".child VALUES (1, 99)`));
    expect([isUniqueViolation(dup), isForeignKeyViolation(dup)]).toEqual([true, false]);
    expect([isUniqueViolation(orphan), isForeignKeyViolation(orphan)]).toEqual([false, true]);
    expect(isUniqueViolation(new Error("connection terminated"))).toBe(false);
    expect([isUniqueViolation(null), isUniqueViolation(undefined), isUniqueViolation("P2002")]).toEqual([false, false, false]);
  });

  it("recognises the driver adapter's error and names the columns of the violated key", async () => {
    const adapter = await runtimeAdapter(`${TEST_PG_URL}?schema=${schema}`, 1).connect();
    try {
      const dup = await caught(adapter.executeRaw({ sql: `INSERT INTO parent VALUES (3, 'a')`, args: [], argTypes: [] } as never));
      const orphan = await caught(adapter.executeRaw({ sql: `INSERT INTO child VALUES (1, 99)`, args: [], argTypes: [] } as never));
      expect([isUniqueViolation(dup), isForeignKeyViolation(dup)]).toEqual([true, false]);
      expect([isUniqueViolation(orphan), isForeignKeyViolation(orphan)]).toEqual([false, true]);
      // the Prisma client wraps the adapter's error as P2002 with it under meta.driverAdapterError
      const wrapped = { code: "P2002", meta: { modelName: "Parent", driverAdapterError: dup } };
      expect(uniqueViolationTarget(wrapped)).toBe("code");
      expect(uniqueViolationTarget(orphan)).toBeNull();
    } finally {
      await adapter.dispose();
    }
  });

  it("recognises Prisma's shapes: P2002 with a target, a raw query's P2010 carrying 23505, and a wrapped cause", () => {
    expect(uniqueViolationTarget({ code: "P2002", meta: { target: ["buyerId", "idempotencyKey"] } })).toBe("buyerId,idempotencyKey");
    expect(isUniqueViolation({ code: "P2010", meta: { code: "23505", message: "duplicate key" } })).toBe(true);
    expect(isUniqueViolation({ code: "P2010", meta: { code: "40001" } })).toBe(false);
    expect(isUniqueViolation(new Error("transaction failed", { cause: { code: "P2002" } }))).toBe(true);
    expect(isForeignKeyViolation({ code: "P2003", meta: { field_name: "parentId" } })).toBe(true);
    expect(isUniqueViolation({ code: "P2003" })).toBe(false);
  });
});
