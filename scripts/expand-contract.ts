/**
 * Expand/contract migrations (decision 0033, docs/scaling.md "Rolling upgrades"): while a release
 * rolls out, instances of the previous release run on the schema the new release migrated. So a
 * migration only EXPANDS — it may add tables, columns old code can ignore (nullable, or with a
 * default, so old code's INSERTs still work), indexes and enum values — and never takes away or
 * tightens what old code uses: no dropped or renamed tables, columns or enum values, no changed
 * column types, no NOT NULL on an existing column. Those happen only in a CONTRACT migration (its
 * directory name contains `_contract_`, its SQL starts with `-- contract: <what it removes and since
 * which release the code no longer uses it>`), shipped a release after the code stopped using what
 * it removes; what it removes must not be in the domain's schema.prisma any more.
 *
 * The check compares the real catalog of PostgreSQL before and after each migration
 * (`snapshotSchema`), so it sees what the SQL does, however it is written.
 */
import type pg from "pg";

export interface SchemaSnapshot {
  /** "Table"."column" → type, nullability and default */
  columns: Map<string, { type: string; nullable: boolean; hasDefault: boolean }>;
  tables: Set<string>;
  /** "EnumType" → its values */
  enums: Map<string, Set<string>>;
}

export async function snapshotSchema(db: pg.Client, schema: string): Promise<SchemaSnapshot> {
  const cols = await db.query<{
    table_name: string;
    column_name: string;
    udt_name: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    `SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable, c.column_default
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
      WHERE c.table_schema = $1`,
    [schema],
  );
  const enums = await db.query<{ typname: string; enumlabel: string }>(
    `SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1`,
    [schema],
  );
  const snapshot: SchemaSnapshot = { columns: new Map(), tables: new Set(), enums: new Map() };
  for (const r of cols.rows) {
    snapshot.tables.add(r.table_name);
    snapshot.columns.set(`"${r.table_name}"."${r.column_name}"`, {
      type: r.udt_name,
      nullable: r.is_nullable === "YES",
      hasDefault: r.column_default !== null,
    });
  }
  for (const r of enums.rows) {
    const values = snapshot.enums.get(r.typname) ?? new Set<string>();
    values.add(r.enumlabel);
    snapshot.enums.set(r.typname, values);
  }
  return snapshot;
}

/** What a migration takes away or tightens (empty: it only expands). */
export function contractions(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  const found: string[] = [];
  for (const t of before.tables) if (!after.tables.has(t)) found.push(`drops table "${t}"`);
  for (const [col, was] of before.columns) {
    const now = after.columns.get(col);
    const table = col.slice(1, col.indexOf('"', 1));
    if (!now) {
      if (after.tables.has(table)) found.push(`drops or renames column ${col}`);
      continue;
    }
    if (now.type !== was.type) found.push(`changes the type of ${col} (${was.type} → ${now.type})`);
    if (was.nullable && !now.nullable) found.push(`makes ${col} NOT NULL`);
  }
  for (const [col, now] of after.columns) {
    const table = col.slice(1, col.indexOf('"', 1));
    if (!before.columns.has(col) && before.tables.has(table) && !now.nullable && !now.hasDefault)
      found.push(`adds ${col} NOT NULL without a default (the previous release's INSERTs would fail)`);
  }
  for (const [type, values] of before.enums) {
    const now = after.enums.get(type);
    if (!now) found.push(`drops enum type "${type}"`);
    else for (const v of values) if (!now.has(v)) found.push(`drops or renames enum value "${type}".${v}`);
  }
  return found;
}

/**
 * Migrations written before the rule (the first releases had no instances of an older release to
 * keep running), with what they contract. Nothing may be added here: a new contraction is a
 * contract migration. Each was released together with the code that needed it, so no older release
 * ever ran beside it (test/scale/previous-release.ts takes that into account).
 */
export const BEFORE_THE_RULE: Record<string, string[]> = {
  // filled from subtotal - discount in the same migration; no older release ran beside it
  "order/20261124120000_line_discounts": [
    `adds "OrderItem"."payable" NOT NULL without a default (the previous release's INSERTs would fail)`,
  ],
  // written beside the rule (issue 12), before any release: its rows move to "Outbox" in the same
  // migration. Under the rule it would be two: "Outbox" first, the drop one release later.
  "order/20261130150000_order_events_job_outbox": [`drops table "OrderOutbox"`],
};

export const isContractMigration = (name: string) => name.includes("_contract_");

/** A contract migration's own statement of what it removes and why it may: its first `-- contract:` line. */
export function contractNote(sql: string): string | undefined {
  return /^\s*--\s*contract:\s*(\S.*)$/m.exec(sql)?.[1];
}
