/**
 * The end-to-end harness: a throwaway database with every domain migrated, a random Redis prefix,
 * the demo data, and the whole platform started as processes (scripts/stack.ts) on free ports.
 * `ownDatabase` moves some domains to a second throwaway database (`<DOMAIN>_DATABASE_URL`).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config, type DatabaseDomain } from "../../packages/platform/src/config.ts";
import { createTestDatabase, createTestRedis, REPO_ROOT, waitFor, type TestDatabase } from "../../packages/platform/src/testing.ts";
import { seedAll } from "../../scripts/seed.ts";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { GraphQLHttpClient } from "./client.ts";

export interface E2E {
  stack: Stack;
  cfg: Config;
  api: GraphQLHttpClient;
  /** The throwaway databases: DATABASE_URL's first, then the one of `ownDatabase` (if any). */
  databases: TestDatabase[];
  stop: () => Promise<void>;
}

export interface E2EOptions {
  readyTimeoutMs?: number;
  logLevel?: string;
  env?: Record<string, string>;
  /** Domains migrated into a second database, which their `<DOMAIN>_DATABASE_URL` points at. */
  ownDatabase?: DatabaseDomain[];
  /** Settings of one process only (scripts/stack.ts `processEnv`). */
  processEnv?: Record<string, NodeJS.ProcessEnv>;
  /** Processes that run another copy's code (scripts/stack.ts `codeRoots`), e.g. the previous release's. */
  codeRoots?: Record<string, string>;
}

export async function startE2E(opts: E2EOptions = {}): Promise<E2E> {
  const own: string[] = opts.ownDatabase ?? [];
  const domains = DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations")));
  const databases = [await createTestDatabase(domains.filter((d) => !own.includes(d)))];
  if (own.length) databases.push(await createTestDatabase(own));
  const tr = createTestRedis();
  const overrides = Object.fromEntries(own.map((d) => [`${d.toUpperCase()}_DATABASE_URL`, databases[1]!.url]));
  const env = {
    DATABASE_URL: databases[0]!.url,
    ...overrides,
    REDIS_PREFIX: tr.prefix,
    NODE_ENV: "test",
    LOG_LEVEL: opts.logLevel ?? "warn",
    ...opts.env,
  };
  const cfg = loadConfig({ ...process.env, ...env });
  let stack: Stack | undefined;
  const stop = async () => {
    await stack?.stop();
    for (const db of databases) await db.drop();
    await tr.cleanup();
  };
  try {
    await seedAll(cfg);
    stack = await startStack({
      env,
      processEnv: opts.processEnv,
      codeRoots: opts.codeRoots,
      randomPorts: true,
      readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { stack, cfg, api: new GraphQLHttpClient(stack.gatewayUrl), databases, stop };
}

/** Runs `fn` over `items`, `width` at a time. */
export async function pool<T, R>(items: T[], width: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Logs the seeded operator in (AdminLogin). */
export async function adminToken(e: Pick<E2E, "api" | "cfg">): Promise<string> {
  return (await e.api.ok("AdminLogin", { username: "admin", password: e.cfg.ADMIN_PASSWORD })).adminLogin.accessToken;
}

/**
 * `registerMember`, tried again with another phone when the gateway answered SERVICE_UNAVAILABLE (the
 * member subgraph slower than a suite's short gateway time-out: a cold process on a loaded host). The
 * timed-out registration may or may not exist; nothing counts on it. At most three tries.
 */
export async function registerMemberPatiently(
  e: Pick<E2E, "api">,
  admin: string,
  password?: string,
): Promise<{ phone: string; token: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await registerMember(e, admin, password);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes("SERVICE_UNAVAILABLE")) throw err;
    }
  }
}

/** Registers a new member with a random phone: the SMS code is read from the message center. */
export async function registerMember(
  e: Pick<E2E, "api">,
  admin: string,
  password = "Str0ng-pass!",
): Promise<{ phone: string; token: string }> {
  const phone = `13${5 + Math.floor(Math.random() * 5)}${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
  await e.api.ok("RequestSmsCode", { phone });
  const code = await waitFor(async () => {
    for (const m of (await e.api.ok("SentMessages", { recipient: phone }, admin)).sentMessages as Array<{ body: string }>) {
      const c = /\b(\d{6})\b/.exec(m.body)?.[1];
      if (c) return c;
    }
    return undefined;
  }, "the SMS code");
  const token = (await e.api.ok("Register", { input: { phone, smsCode: code, password } })).register.accessToken as string;
  return { phone, token };
}
