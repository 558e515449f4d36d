/**
 * The end-to-end harness: a throwaway database with every domain migrated, a random Redis prefix,
 * the demo data, and the whole platform started as processes (scripts/stack.ts) on free ports.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config } from "../../packages/platform/src/config.ts";
import { createTestDatabase, createTestRedis, REPO_ROOT, waitFor } from "../../packages/platform/src/testing.ts";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { seedAll } from "../../scripts/seed.ts";
import { GraphQLHttpClient } from "./client.ts";

export interface E2E {
  stack: Stack;
  cfg: Config;
  api: GraphQLHttpClient;
  stop: () => Promise<void>;
}

export async function startE2E(opts: { readyTimeoutMs?: number; logLevel?: string; env?: Record<string, string> } = {}): Promise<E2E> {
  const domains = DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations")));
  const db = await createTestDatabase(domains);
  const tr = createTestRedis();
  const env = { DATABASE_URL: db.url, REDIS_PREFIX: tr.prefix, NODE_ENV: "test", LOG_LEVEL: opts.logLevel ?? "warn", ...opts.env };
  const cfg = loadConfig({ ...process.env, ...env });
  let stack: Stack | undefined;
  const stop = async () => {
    await stack?.stop();
    await db.drop();
    await tr.cleanup();
  };
  try {
    await seedAll(cfg);
    stack = await startStack({ env, randomPorts: true, readyTimeoutMs: opts.readyTimeoutMs ?? 120_000 });
  } catch (e) {
    await stop();
    throw e;
  }
  return { stack, cfg, api: new GraphQLHttpClient(stack.gatewayUrl), stop };
}

/** Logs the seeded operator in (AdminLogin). */
export async function adminToken(e: E2E): Promise<string> {
  return (await e.api.ok("AdminLogin", { username: "admin", password: e.cfg.ADMIN_PASSWORD })).adminLogin.accessToken;
}

/** Registers a new member with a random phone: the SMS code is read from the message center. */
export async function registerMember(e: E2E, admin: string, password = "Str0ng-pass!"): Promise<{ phone: string; token: string }> {
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
