/** Shared factory of the per-domain prisma.config.ts files (WASM schema engine + patched adapter). */
import path from "node:path";
import { defineConfig } from "prisma/config";
import { migrateAdapter } from "../packages/platform/src/prisma.ts";

export function domainPrismaConfig(domain: string) {
  const dir = path.join(import.meta.dirname, domain);
  // <DOMAIN>_DATABASE_URL (a database of the domain's own) wins over the shared DATABASE_URL.
  const base =
    process.env[`${domain.toUpperCase()}_DATABASE_URL`] ||
    process.env.DATABASE_URL ||
    "postgresql://postgres:postgres@127.0.0.1:5432/mallgraph";
  const u = new URL(base);
  if (!u.searchParams.has("schema")) u.searchParams.set("schema", domain);
  process.env.DATABASE_URL = u.toString();
  return defineConfig({
    experimental: { adapter: true },
    engine: "js",
    // the folder: schema.prisma plus the platform's shared models linked into it (prisma/platform/*.prisma)
    schema: dir,
    migrations: { path: path.join(dir, "migrations") },
    adapter: async () => migrateAdapter(u.toString()),
  });
}
