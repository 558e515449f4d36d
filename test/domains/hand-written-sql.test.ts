/**
 * The hand-written SQL against the tables Prisma defines (decisions 0035, 0036: placement, the seckill
 * batch and the reservations' copy on plain SQL; the outbox, the workflow runner, wallets, points…).
 * Those statements bypass Prisma's client, which fills some columns itself (`@updatedAt`,
 * `@default(uuid())` / `cuid()`): a migration that adds a NOT NULL column without a database default, or
 * renames one, or a new `@updatedAt`, would break them only at run time, on the path that runs them.
 *
 * Every `INSERT INTO "T" (…)` and `UPDATE "T" … SET` in the domains' and the platform's sources is read
 * and checked against the tables the migrations create (a throwaway schema per domain, real PostgreSQL):
 *   - every column it names exists;
 *   - every NOT NULL column without a database default is named (what Prisma's create demands or fills
 *     client-side: the hand-written INSERT must set it);
 *   - an UPDATE of a model with an `@updatedAt` field sets it (Prisma's update would).
 * subgraphs/order/test/plain-sql-rows.test.ts compares the rows themselves with Prisma's.
 */
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, REPO_ROOT, type TestSchema } from "@mallgraph/platform/testing";

const PRISMA = path.join(REPO_ROOT, "prisma");
const DOMAINS = readdirSync(PRISMA, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(PRISMA, d.name, "schema.prisma")))
  .map((d) => d.name);

interface Statement {
  file: string;
  kind: "INSERT" | "UPDATE";
  table: string;
  /** INSERT: the column list; UPDATE: the whole statement's text (to its template literal's end). */
  columns: string[];
  text: string;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === "generated" || name === "node_modules" || name === "test") continue;
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const unquote = (c: string) => c.trim().replace(/^"|"$/g, "");

/** The hand-written INSERTs and UPDATEs of the sources (SQL text in template literals). */
function statements(): Statement[] {
  const files = [...sourceFiles(path.join(REPO_ROOT, "subgraphs")), ...sourceFiles(path.join(REPO_ROOT, "packages", "platform", "src"))];
  const out: Statement[] = [];
  for (const f of files) {
    const src = readFileSync(f, "utf8");
    const file = path.relative(REPO_ROOT, f);
    for (const m of src.matchAll(/INSERT INTO\s+"(\w+)"(?:\s+AS\s+\w+)?\s*(?:\(([^)]*)\))?/g)) {
      const text = src.slice(m.index, src.indexOf("`", m.index));
      out.push({ file, kind: "INSERT", table: m[1]!, columns: m[2] ? m[2].split(",").map(unquote) : [], text });
    }
    for (const m of src.matchAll(/UPDATE\s+"(\w+)"(?:\s+(?:AS\s+)?\w+)?\s+SET\s/g)) {
      const text = src.slice(m.index, src.indexOf("`", m.index));
      out.push({ file, kind: "UPDATE", table: m[1]!, columns: [], text });
    }
  }
  return out;
}

/** The domains whose tables a source file writes: its subgraph's, or any that has the table (the platform's files). */
function domainsOf(file: string): string[] {
  const m = file.match(/^subgraphs\/(\w+)\//);
  return m ? [m[1]!] : DOMAINS;
}

/** Models with an `@updatedAt` field, by model name → field names (the schema files and the shared platform ones). */
function updatedAtFields(domain: string): Map<string, string[]> {
  const dir = path.join(PRISMA, domain);
  const out = new Map<string, string[]>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".prisma"))) {
    const text = readFileSync(path.join(dir, name), "utf8");
    for (const m of text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
      const fields = [...m[2]!.matchAll(/^\s*(\w+)\s+DateTime\b[^\n]*@updatedAt/gm)].map((f) => f[1]!);
      if (fields.length) out.set(m[1]!, fields);
    }
  }
  return out;
}

/**
 * UPDATEs that leave `@updatedAt` alone on purpose: counters moved by traffic, not edits of the row
 * (the same counters' other writers — catalog_confirm's `UPDATE "Spu" SET "sales"` in the catalog
 * migrations — leave it alone too). A new entry needs the same reason.
 */
const COUNTERS_NOT_EDITS = new Set([
  "subgraphs/catalog/src/services/inventory.ts:Spu",
  "subgraphs/promotion/src/services/coupons.ts:CouponTemplate",
]);

interface Column {
  nullable: boolean;
  hasDefault: boolean;
}

describe("hand-written SQL names what the Prisma schemas require", () => {
  const schemas = new Map<string, TestSchema>();
  /** domain → table → column → facts, from information_schema of its migrated throwaway schema. */
  const tables = new Map<string, Map<string, Map<string, Column>>>();
  const found = statements();

  beforeAll(async () => {
    for (const d of DOMAINS) {
      const s = await createTestSchema(d);
      schemas.set(d, s);
      const u = new URL(s.url);
      u.search = "";
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      try {
        const r = await c.query<{ table_name: string; column_name: string; is_nullable: string; column_default: string | null }>(
          `SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns WHERE table_schema = $1`,
          [s.schema],
        );
        const byTable = new Map<string, Map<string, Column>>();
        for (const row of r.rows) {
          const t = byTable.get(row.table_name) ?? new Map<string, Column>();
          t.set(row.column_name, { nullable: row.is_nullable === "YES", hasDefault: row.column_default !== null });
          byTable.set(row.table_name, t);
        }
        tables.set(d, byTable);
      } finally {
        await c.end();
      }
    }
  });
  afterAll(async () => {
    await Promise.all([...schemas.values()].map((s) => s.drop()));
  });

  it("finds the hand-written statements (placement, the seckill batch and copy, the outbox, the workflow runner among them)", () => {
    const inserts = new Set(found.filter((s) => s.kind === "INSERT").map((s) => `${s.file}:${s.table}`));
    for (const expected of [
      "subgraphs/order/src/workflows/placeOrder.ts:Order",
      "subgraphs/order/src/workflows/placeOrder.ts:OrderItem",
      "subgraphs/order/src/workflows/placeOrder.ts:OrderStatusChange",
      "subgraphs/order/src/services/seckill.ts:Order",
      "subgraphs/order/src/services/seckill.ts:OrderItem",
      "subgraphs/order/src/services/seckill.ts:OrderStatusChange",
      "subgraphs/promotion/src/services/seckill-copy.ts:SeckillReservation",
      "packages/platform/src/outbox.ts:Outbox",
      "packages/platform/src/workflow/run-sql.ts:WorkflowRun",
    ])
      expect(inserts, expected).toContain(expected);
  });

  it("every INSERT names its columns, each one exists, and every NOT NULL column without a database default is among them", () => {
    const problems: string[] = [];
    for (const s of found.filter((x) => x.kind === "INSERT")) {
      if (!s.columns.length) {
        problems.push(`${s.file}: INSERT INTO "${s.table}" has no column list`);
        continue;
      }
      const domains = domainsOf(s.file).filter((d) => tables.get(d)?.has(s.table));
      if (!domains.length) problems.push(`${s.file}: no migrated table "${s.table}"`);
      for (const d of domains) {
        const cols = tables.get(d)!.get(s.table)!;
        for (const c of s.columns) if (!cols.has(c)) problems.push(`${s.file}: "${s.table}"."${c}" does not exist (${d})`);
        for (const [name, c] of cols)
          if (!c.nullable && !c.hasDefault && !s.columns.includes(name))
            problems.push(`${s.file}: INSERT INTO "${s.table}" leaves out "${name}" (NOT NULL, no default in ${d}'s migrations)`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every UPDATE of a model with an @updatedAt field sets it, as Prisma's update would", () => {
    const problems: string[] = [];
    for (const s of found.filter((x) => x.kind === "UPDATE" && !COUNTERS_NOT_EDITS.has(`${x.file}:${x.table}`))) {
      const domains = domainsOf(s.file).filter((d) => tables.get(d)?.has(s.table));
      if (!domains.length) problems.push(`${s.file}: no migrated table "${s.table}"`);
      for (const d of domains)
        for (const f of updatedAtFields(d).get(s.table) ?? [])
          if (!s.text.includes(`"${f}"`)) problems.push(`${s.file}: UPDATE "${s.table}" does not set "${f}" (@updatedAt)`);
    }
    expect(problems).toEqual([]);
  });
});
