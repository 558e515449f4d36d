/**
 * The member domain's Prisma config: the same as prisma/config.ts's domainPrismaConfig("member"),
 * except that a migration is sent as ONE multi-statement script (as the native engine does) instead
 * of being split on every ";" by adapter-pg's executeScript — the ledger's append-only trigger has a
 * PL/pgSQL body. (The same fix as prisma/catalog/prisma.config.ts.)
 */
import path from "node:path";
import { defineConfig } from "prisma/config";
import { migrateAdapter } from "../../packages/platform/src/prisma.ts";

const dir = import.meta.dirname;
const u = new URL(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/mallgraph");
if (!u.searchParams.has("schema")) u.searchParams.set("schema", "member");
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

function memberMigrateAdapter(url: string) {
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
  adapter: async () => memberMigrateAdapter(u.toString()),
} as any);
