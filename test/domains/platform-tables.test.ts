/**
 * The platform's tables — the job outbox and the durable workflow runs — have ONE Prisma definition
 * (prisma/platform/*.prisma) that every domain's schema folder links to, and every domain's
 * migrations create exactly that table (Prisma keeps one migration history per schema, so the SQL is
 * repeated per domain; this test keeps the copies equal).
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "@mallgraph/platform/testing";

const PRISMA = path.join(REPO_ROOT, "prisma");
const DOMAINS = readdirSync(PRISMA, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(PRISMA, d.name, "schema.prisma")))
  .map((d) => d.name);

/** The CREATE TABLE and CREATE INDEX statements of `table` across a domain's migrations. */
function tableSql(domain: string, table: string): string {
  const dir = path.join(PRISMA, domain, "migrations");
  const sql = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readFileSync(path.join(dir, d.name, "migration.sql"), "utf8"))
    .join("\n");
  const statements = sql.split(";").map((s) => s.replace(/--[^\n]*\n/g, "").trim());
  return statements
    .filter((s) => s.startsWith(`CREATE TABLE "${table}"`) || new RegExp(`^CREATE (UNIQUE )?INDEX "[^"]+" ON "${table}"`).test(s))
    .join(";\n");
}

describe("the platform's tables come from one definition", () => {
  for (const [file, model, domains] of [
    ["outbox.prisma", "Outbox", DOMAINS],
    ["workflow.prisma", "WorkflowRun", ["order", "promotion", "payment", "lottery"]],
  ] as const) {
    it(`${model}: prisma/platform/${file}, linked into ${domains.join(", ")}; their migrations create the same table`, () => {
      const shared = readFileSync(path.join(PRISMA, "platform", file), "utf8");
      expect(shared).toMatch(new RegExp(`^model ${model} \\{`, "m"));
      const created = new Set<string>();
      for (const d of domains) {
        const link = path.join(PRISMA, d, file);
        expect(lstatSync(link).isSymbolicLink(), `prisma/${d}/${file} is a link`).toBe(true);
        expect(readlinkSync(link)).toBe(`../platform/${file}`);
        expect(readFileSync(path.join(PRISMA, d, "schema.prisma"), "utf8"), `prisma/${d}/schema.prisma has no copy`).not.toMatch(
          new RegExp(`^model ${model} \\{`, "m"),
        );
        const sql = tableSql(d, model);
        expect(sql, `prisma/${d}'s migrations create "${model}"`).toContain(`CREATE TABLE "${model}"`);
        created.add(sql);
      }
      expect([...created]).toHaveLength(1);
    });
  }
});
