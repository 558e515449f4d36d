/**
 * Production refuses to start unsafe: the real processes, started with NODE_ENV=production and one
 * unsafe setting each, exit non-zero and name the variable; with safe settings they start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createTestRedis, productionEnv, REPO_ROOT, waitFor } from "@mallgraph/platform/testing";
import { freePort } from "../../scripts/stack.ts";

interface Started {
  child: ChildProcess;
  /** Resolves when the process exits: its code and everything it printed. */
  exited: Promise<{ code: number | null; output: string }>;
}

function start(file: string, env: Record<string, string | undefined>): Started {
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: "warn", ...env }, stdio: "pipe" });
  let output = "";
  child.stdout!.on("data", (b) => (output += String(b)));
  child.stderr!.on("data", (b) => (output += String(b)));
  return { child, exited: new Promise((resolve) => child.once("exit", (code) => resolve({ code, output }))) };
}

/** Runs `file` until it exits (a refused start exits as soon as it has loaded; 150 s alive fails the test). */
async function runToExit(file: string, env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const s = start(file, env);
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 150_000);
  const r = await s.exited;
  clearTimeout(timer);
  return r;
}

const GATEWAY = "gateway/src/index.ts";

describe("NODE_ENV=production", () => {
  // Each refusal on its own is in packages/platform/test/production-config.test.ts (productionProblems);
  // here the real processes, two unsafe environments each naming every variable it gets wrong.
  it("refuses to start the gateway with the development defaults, naming each variable", async () => {
    const r = await runToExit(GATEWAY, { NODE_ENV: "production", INTERNAL_SECRET: undefined, ADMIN_PASSWORD: undefined, JWT_PRIVATE_JWK: undefined, SANDBOX_ENABLED: undefined, GATEWAY_PORT: String(await freePort()) });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain("unsafe configuration for production");
    for (const variable of ["INTERNAL_SECRET", "ADMIN_PASSWORD", "JWT_PRIVATE_JWK"]) expect(r.output).toContain(`${variable}:`);
    expect(r.output).not.toContain("SANDBOX_ENABLED:"); // off by default in production
  }, 200_000);

  it("refuses short secrets (any *_SECRET setting), a placeholder password, an empty JWT key and SANDBOX_ENABLED=true", async () => {
    const safe = await productionEnv();
    const r = await runToExit("subgraphs/member/src/index.ts", {
      ...safe,
      INTERNAL_SECRET: "a-31-character-long-secret-xxxx",
      ORDER_SERVICE_SECRET: "short-secret-0123456789",
      ADMIN_PASSWORD: "CHANGE-ME",
      JWT_PRIVATE_JWK: "",
      SANDBOX_ENABLED: "true",
    });
    expect(r.code, r.output).toBe(1);
    for (const variable of ["INTERNAL_SECRET", "ORDER_SERVICE_SECRET", "ADMIN_PASSWORD", "JWT_PRIVATE_JWK", "SANDBOX_ENABLED"]) expect(r.output).toContain(`${variable}:`);
  }, 200_000);

  it("starts with safe settings (SANDBOX off by default), and development keeps its defaults", async () => {
    const tr = createTestRedis();
    try {
      const safe = await productionEnv();
      for (const env of [{ ...safe, SANDBOX_ENABLED: undefined }, { NODE_ENV: "development", INTERNAL_SECRET: undefined, ADMIN_PASSWORD: undefined, JWT_PRIVATE_JWK: undefined, SANDBOX_ENABLED: undefined }]) {
        const port = await freePort();
        const gw = start(GATEWAY, { ...env, GATEWAY_PORT: String(port), REDIS_PREFIX: tr.prefix });
        let exit: { code: number | null; output: string } | undefined;
        void gw.exited.then((r) => (exit = r));
        await waitFor(async () => {
          if (exit) throw new Error(`gateway (${env.NODE_ENV}) exited ${exit.code}:\n${exit.output}`);
          return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok;
        }, `gateway (${env.NODE_ENV}) /health`, 150_000, 500);
        gw.child.kill("SIGTERM");
        expect((await gw.exited).code).toBe(0);
      }
    } finally {
      await tr.cleanup();
    }
  }, 400_000);
});
