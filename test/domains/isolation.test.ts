/**
 * No query joins across domains (issue 14), proven on the code rather than promised: each domain owns
 * one PostgreSQL schema named after it (its connection's search_path is that schema and `public`, for
 * extensions), its tables, enum types and functions come from its own prisma/<domain>/migrations, and
 * its subgraph reaches them through its own generated Prisma client only. This suite parses every
 * subgraph's TypeScript and fails on
 * - an import of another subgraph's code (its Prisma client and models included) or of prisma/;
 * - raw SQL (any `$queryRaw`/`$executeRaw`/`Prisma.sql` text, and any string that reads as SQL) naming
 *   another domain's schema (`"order".…`), or a table, enum type or function only another domain has;
 * - a migration or schema.prisma reaching outside its domain's schema.
 * With a domain's objects absent from its neighbours' databases (test/e2e/databases.test.ts), such a
 * query could not even run.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { DATABASE_DOMAINS, DOMAINS, databaseUrlOf, loadConfig } from "../../packages/platform/src/config.ts";
import { pgConfig } from "../../packages/platform/src/prisma.ts";
import { REPO_ROOT } from "../../packages/platform/src/testing.ts";

const OWNED = /^(?:CREATE TABLE|CREATE TYPE|CREATE (?:OR REPLACE )?FUNCTION)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?/gm;

/** Every table, enum type and function a domain's migrations create. */
function ownedObjects(domain: string): Set<string> {
  const dir = path.join(REPO_ROOT, "prisma", domain, "migrations");
  const names = new Set<string>();
  for (const m of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()))
    for (const hit of readFileSync(path.join(dir, m.name, "migration.sql"), "utf8").matchAll(OWNED)) names.add(hit[1]!);
  return names;
}

const owned = new Map<string, Set<string>>(DATABASE_DOMAINS.map((d) => [d, ownedObjects(d)]));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === "generated" ? [] : sourceFiles(full);
    return /\.tsx?$/.test(name) ? [full] : [];
  });
}

const RAW_TAG = /(\$queryRaw|\$executeRaw|\bsql|\braw)$/;
const RAW_CALL = /(\$queryRawUnsafe|\$executeRawUnsafe|\braw)$/;
const LOOKS_LIKE_SQL = /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|JOIN|FOR UPDATE)\b/;

/** What one SQL text of `domain` names outside its domain. */
function sqlProblems(domain: string, sql: string): string[] {
  const mine = owned.get(domain) ?? new Set<string>();
  const problems: string[] = [];
  for (const [, schema] of sql.matchAll(/"?\b([a-z]+)\b"?\s*\.\s*"?[A-Za-z_]/g))
    if (schema !== domain && (DOMAINS as readonly string[]).includes(schema!)) problems.push(`schema "${schema}"`);
  const names = [...sql.matchAll(/"([A-Za-z_][A-Za-z0-9_]*)"/g), ...sql.matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/g)].map((m) => m[1]!);
  for (const name of new Set(names)) {
    if (mine.has(name)) continue;
    const others = [...owned].filter(([d, objects]) => d !== domain && objects.has(name)).map(([d]) => d);
    if (others.length) problems.push(`"${name}" of ${others.join("/")}`);
  }
  return problems;
}

interface Scan {
  problems: string[];
  /** SQL texts checked. */
  sqlTexts: number;
}

/** Scans one source file of `domain`'s subgraph (at `file`, with `text` as its content). */
function scanSource(domain: string, file: string, text: string): Scan {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const subgraphs = path.join(REPO_ROOT, "subgraphs");
  const problems: string[] = [];
  let sqlTexts = 0;
  const where = (n: ts.Node) => `${path.relative(REPO_ROOT, file)}:${source.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const checkImport = (spec: string, n: ts.Node) => {
    const target = spec.startsWith(".") ? path.resolve(path.dirname(file), spec) : spec;
    const other = spec.startsWith(".") ? path.relative(subgraphs, target).split(path.sep)[0] : /^@mallgraph\/([a-z]+)/.exec(spec)?.[1];
    if (other && other !== domain && (DOMAINS as readonly string[]).includes(other))
      problems.push(`${where(n)}: imports ${spec} (subgraph ${other})`);
    if (spec.startsWith(".") && !path.relative(path.join(REPO_ROOT, "prisma"), target).startsWith(".."))
      problems.push(`${where(n)}: imports ${spec} (prisma/)`);
  };
  const checkSql = (sqlText: string, n: ts.Node) => {
    sqlTexts++;
    for (const p of sqlProblems(domain, sqlText)) problems.push(`${where(n)}: SQL names ${p}`);
  };
  const literalText = (n: ts.Node): string | undefined => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
    if (ts.isTemplateExpression(n)) return [n.head.text, ...n.templateSpans.map((s) => s.literal.text)].join(" $1 ");
    return undefined;
  };
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      checkImport(n.moduleSpecifier.text, n);
    else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    )
      checkImport(n.arguments[0].text, n);
    if (ts.isTaggedTemplateExpression(n) && RAW_TAG.test(n.tag.getText(source))) {
      checkSql(literalText(n.template)!, n);
      n.template.forEachChild(visit); // ${…} parts may hold more SQL
      return;
    }
    if (ts.isCallExpression(n) && RAW_CALL.test(n.expression.getText(source)) && n.arguments[0]) {
      const sqlText = literalText(n.arguments[0]);
      if (sqlText !== undefined) {
        checkSql(sqlText, n);
        return;
      }
    }
    const plain = literalText(n);
    if (plain !== undefined && LOOKS_LIKE_SQL.test(plain)) {
      checkSql(plain, n);
      return;
    }
    n.forEachChild(visit);
  };
  visit(source);
  return { problems, sqlTexts };
}

describe("no query joins across domains", () => {
  it("each domain's connection is its own schema: databaseUrlOf names it, and the search_path holds only it and public (sessions in UTC, decision 0043)", () => {
    const config = loadConfig({
      DATABASE_URL: "postgresql://u:p@shared:5432/mallgraph",
      ORDER_DATABASE_URL: "postgresql://u:p@orders:5432/orders",
    } as unknown as NodeJS.ProcessEnv);
    for (const d of DATABASE_DOMAINS) {
      const { schema, config: pg } = pgConfig(databaseUrlOf(config, d));
      expect(schema).toBe(d);
      expect(pg.options).toBe(`-c search_path="${d}",public -c TimeZone=UTC`);
    }
  });

  it("every domain's migrations and schema.prisma stay inside the domain's schema", () => {
    for (const d of DATABASE_DOMAINS) {
      expect(owned.get(d)!.size, `${d} creates tables`).toBeGreaterThan(0);
      const dir = path.join(REPO_ROOT, "prisma", d, "migrations");
      for (const m of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
        const sql = readFileSync(path.join(dir, m.name, "migration.sql"), "utf8");
        expect(sqlProblems(d, sql), `prisma/${d}/migrations/${m.name}`).toEqual([]);
        for (const [, schema] of sql.matchAll(/CREATE SCHEMA[^"]*"([^"]+)"/g)) expect(schema, `prisma/${d}/migrations/${m.name}`).toBe(d);
      }
      const prisma = readFileSync(path.join(REPO_ROOT, "prisma", d, "schema.prisma"), "utf8");
      expect(prisma, `prisma/${d}/schema.prisma: one schema, no multiSchema`).not.toMatch(/^\s*schemas\s*=|@@schema\(/m);
      expect(/output\s*=\s*"([^"]+)"/.exec(prisma)?.[1], `prisma/${d}/schema.prisma generates into its own subgraph`).toBe(
        `../../subgraphs/${d}/src/generated/prisma`,
      );
    }
  });

  it("no subgraph imports another's code or Prisma client, and its SQL names only its own domain's schema objects", () => {
    const problems: string[] = [];
    let sqlTexts = 0;
    for (const d of DOMAINS) {
      for (const file of sourceFiles(path.join(REPO_ROOT, "subgraphs", d, "src"))) {
        const scan = scanSource(d, file, readFileSync(file, "utf8"));
        problems.push(...scan.problems);
        sqlTexts += scan.sqlTexts;
      }
    }
    expect(problems).toEqual([]);
    // the scan did read the subgraphs' SQL (catalog's inventory, payment's ledger, …)
    expect(sqlTexts).toBeGreaterThan(30);
  });

  it("the scan catches a cross-domain query or import (it is not blind)", () => {
    const file = path.join(REPO_ROOT, "subgraphs", "catalog", "src", "services", "planted.ts");
    const bad = [
      `import { PrismaClient } from "../../../order/src/generated/prisma/client.ts";`,
      `import { x } from "@mallgraph/member";`,
      `await prisma.$queryRaw\`SELECT s."id" FROM "Spu" s JOIN "Order" o ON o."id" = \${id}\`;`,
      `await prisma.$queryRawUnsafe('SELECT 1 FROM "payment"."Payment"');`,
      `const q = \`UPDATE "WalletAccount" SET "balance" = 0\`;`,
      `await tx.$executeRaw\`SELECT ledger_entry_append_only()\`;`,
    ];
    const found = bad.map((line) => scanSource("catalog", file, line).problems);
    for (const [i, p] of found.entries()) expect(p.length, bad[i]).toBeGreaterThan(0);
    expect(found.flat().join("\n")).toMatch(
      /"Order" of order[\s\S]*schema "payment"[\s\S]*"WalletAccount" of member[\s\S]*"ledger_entry_append_only" of member/,
    );
    // its own objects, and names several domains share (each its own "Outbox"), pass
    expect(
      scanSource("catalog", file, `await tx.$queryRaw\`SELECT "available" FROM "Inventory", catalog_reserve(\${key}) r\`;`).problems,
    ).toEqual([]);
    expect(
      scanSource(
        "order",
        file.replace("catalog", "order"),
        `await tx.$queryRaw\`SELECT 1 FROM "order"."Order" o JOIN "Outbox" x ON TRUE WHERE o."status" = 'PAID'::"OrderStatus"\`;`,
      ).problems,
    ).toEqual([]);
  });
});
