/**
 * The catalog's Prisma config: the same as prisma/config.ts's domainPrismaConfig("catalog"), plus
 * one fix: adapter-pg's executeScript splits a migration on every ";", which breaks the PL/pgSQL
 * function bodies of the catalog migration. The native engine sends a migration as one
 * multi-statement query; this adapter does the same.
 */
import path from "node:path";
import { defineConfig } from "prisma/config";
import { migrateAdapter } from "../../packages/platform/src/prisma.ts";

const dir = import.meta.dirname;
const u = new URL(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/mallgraph");
if (!u.searchParams.has("schema")) u.searchParams.set("schema", "catalog");
process.env.DATABASE_URL = u.toString();

function wholeScript<T>(conn: T): T {
  (conn as any).executeScript = async function (this: any, script: string) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return conn;
}

function catalogMigrateAdapter(url: string) {
  const factory: any = migrateAdapter(url);
  const connect = factory.connect.bind(factory);
  factory.connect = async () => wholeScript(await connect());
  const shadow = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => wholeScript(await shadow());
  return factory;
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(dir, "schema.prisma"),
  migrations: { path: path.join(dir, "migrations") },
  adapter: async () => catalogMigrateAdapter(u.toString()),
} as any);
