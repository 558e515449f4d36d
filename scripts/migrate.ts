/**
 * Applies every domain's migrations (`prisma migrate deploy`, WASM schema engine), each into its own
 * PostgreSQL schema of the domain's database: `<DOMAIN>_DATABASE_URL` when set, else DATABASE_URL.
 * Creates each database when it does not exist.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { DATABASE_DOMAINS, domainDatabaseBase, loadConfig, type Config } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");

export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = "/postgres";
  u.search = "";
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!r.rowCount) await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
}

export function migratedDomains(): Array<(typeof DATABASE_DOMAINS)[number]> {
  return DATABASE_DOMAINS.filter((d) => existsSync(path.join(root, "prisma", d, "migrations")));
}

export async function migrate(config: Pick<Config, "DATABASE_URL"> & Partial<Config>): Promise<void> {
  const domains = migratedDomains();
  for (const base of new Set(domains.map((d) => domainDatabaseBase(config, d)))) await ensureDatabase(base);
  // In parallel: each CLI run idles ~10 s on a timer of Prisma's own after it is done.
  await Promise.all(
    domains.map(async (d) => {
      const u = new URL(domainDatabaseBase(config, d));
      u.searchParams.set("schema", d);
      // Prisma takes one advisory lock per database and gives up after 10 s (P1002): the domains sharing
      // a database wait for each other, which on a busy machine can take longer — so P1002 is tried again.
      for (let attempt = 1; ; attempt++) {
        try {
          await promisify(execFile)(
            path.join(root, "node_modules/.bin/prisma"),
            ["migrate", "deploy", "--config", `prisma/${d}/prisma.config.ts`],
            {
              cwd: root,
              // prisma/config.ts reads <DOMAIN>_DATABASE_URL first: both name the one database chosen here.
              env: {
                ...process.env,
                DATABASE_URL: u.toString(),
                [`${d.toUpperCase()}_DATABASE_URL`]: u.toString(),
                CHECKPOINT_DISABLE: "1",
              },
            },
          );
          break;
        } catch (e: any) {
          if (attempt < 5 && `${e.stdout}${e.stderr}`.includes("P1002")) continue;
          throw new Error(`migrate ${d} failed:\n${e.stdout}\n${e.stderr}`, { cause: e });
        }
      }
      console.log(`migrated ${d}`);
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  migrate(loadConfig()).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
