/**
 * Expand/contract (decision 0033): every domain's migrations are applied one by one to a throwaway
 * schema, and the PostgreSQL catalog before and after each is compared (scripts/expand-contract.ts).
 * A migration that takes away or tightens what the previous release's code uses — a dropped or
 * renamed table, column or enum value, a changed type, a new NOT NULL — fails unless it is a contract
 * migration (`_contract_` in its name, a `-- contract:` note) removing only what the current
 * schema no longer has. So the previous release keeps running on the newest schema during a rolling
 * upgrade. The checker itself is shown to catch each kind of contraction.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_DOMAINS } from "../../packages/platform/src/config.ts";
import { createTestDatabase, migrations, randomId, type TestDatabase } from "../../packages/platform/src/testing.ts";
import { BEFORE_THE_RULE, contractNote, contractions, isContractMigration, snapshotSchema } from "../../scripts/expand-contract.ts";

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase([]);
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function freshSchema(): Promise<string> {
  const schema = `ec_${randomId(4)}`;
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`SET search_path TO "${schema}", public`);
  return schema;
}

describe("migrations expand; only contract migrations contract", () => {
  it.each(DATABASE_DOMAINS)("%s: the previous release's schema survives every migration but a contract one", async (domain) => {
    const list = migrations(domain);
    expect(list.length).toBeGreaterThan(0);
    const schema = await freshSchema();
    const problems: string[] = [];
    const contracted: Array<{ name: string; removed: string[] }> = [];
    let before = await snapshotSchema(client, schema);
    for (const m of list) {
      await client.query(m.sql);
      const after = await snapshotSchema(client, schema);
      const found = contractions(before, after);
      const key = `${domain}/${m.name}`;
      if (isContractMigration(m.name)) {
        if (!contractNote(m.sql))
          problems.push(`${key}: a contract migration starts with "-- contract: <what it removes, unused since which release>"`);
        contracted.push({ name: key, removed: found });
      } else if (found.length && JSON.stringify(found) !== JSON.stringify(BEFORE_THE_RULE[key] ?? [])) {
        problems.push(...found.map((f) => `${key} ${f}: only a contract migration may (decision 0033)`));
      }
      before = after;
    }
    // what a contract migration removed is not back in the newest schema (the code does not use it)
    const newest = before;
    for (const c of contracted)
      for (const r of c.removed) {
        const col = /column ("[^"]+"\."[^"]+")/.exec(r)?.[1];
        if (col && newest.columns.has(col)) problems.push(`${c.name} ${r}, yet the newest schema has it`);
      }
    expect(problems).toEqual([]);
  });

  it("the check catches every kind of contraction, and lets expansions pass", async () => {
    const schema = await freshSchema();
    await client.query(`
      CREATE TYPE "Status" AS ENUM ('NEW', 'DONE');
      CREATE TABLE "Order" ("id" TEXT PRIMARY KEY, "note" TEXT, "total" DECIMAL(18,2) NOT NULL, "status" "Status" NOT NULL);
      CREATE TABLE "Old" ("id" TEXT PRIMARY KEY);`);
    const base = await snapshotSchema(client, schema);
    const step = async (sql: string) => {
      await client.query("BEGIN");
      try {
        await client.query(sql);
        return contractions(base, await snapshotSchema(client, schema));
      } finally {
        await client.query("ROLLBACK");
      }
    };
    expect(
      await step(`ALTER TABLE "Order" ADD COLUMN "coupon" TEXT, ADD COLUMN "paid" BOOLEAN NOT NULL DEFAULT false;
                  CREATE TABLE "New" ("id" TEXT PRIMARY KEY); CREATE INDEX "Order_note_idx" ON "Order" ("note");
                  ALTER TYPE "Status" ADD VALUE 'CANCELLED';`),
    ).toEqual([]);
    expect(await step(`ALTER TABLE "Order" DROP COLUMN "note"`)).toEqual([`drops or renames column "Order"."note"`]);
    expect(await step(`ALTER TABLE "Order" RENAME COLUMN "note" TO "remark"`)).toEqual([`drops or renames column "Order"."note"`]);
    expect(await step(`DROP TABLE "Old"`)).toEqual([`drops table "Old"`]);
    expect(await step(`ALTER TABLE "Order" ALTER COLUMN "note" SET NOT NULL`)).toEqual([`makes "Order"."note" NOT NULL`]);
    expect(await step(`ALTER TABLE "Order" ALTER COLUMN "total" TYPE TEXT`)).toEqual([
      `changes the type of "Order"."total" (numeric → text)`,
    ]);
    expect(await step(`ALTER TABLE "Order" ADD COLUMN "channel" TEXT NOT NULL`)).toEqual([
      `adds "Order"."channel" NOT NULL without a default (the previous release's INSERTs would fail)`,
    ]);
    expect(await step(`ALTER TYPE "Status" RENAME VALUE 'DONE' TO 'FINISHED'`)).toEqual([`drops or renames enum value "Status".DONE`]);
    expect(isContractMigration("20270101000000_contract_drop_order_note")).toBe(true);
    expect(contractNote(`-- contract: drops "Order"."note", unused since 1.4\nALTER TABLE "Order" DROP COLUMN "note";`)).toBe(
      `drops "Order"."note", unused since 1.4`,
    );
  });
});
