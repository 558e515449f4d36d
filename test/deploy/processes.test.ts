/**
 * Each process can be started alone: `npm run subgraph -- <name>` (and `npm run gateway`,
 * `npm run workers`, which run the same entry files `npm start` spawns). An unknown name is a
 * usage error; a known one serves /ready and stops cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, waitFor } from "@mallgraph/platform/testing";
import { freePort } from "../../scripts/stack.ts";

function npmRun(args: string[], env: Record<string, string> = {}) {
  const p = spawn("npm", ["run", "--silent", ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: "pipe", detached: true });
  let out = "";
  p.stdout.on("data", (b) => (out += b));
  p.stderr.on("data", (b) => (out += b));
  const exited = new Promise<number | null>((r) => p.once("exit", (code, signal) => r(code ?? (signal ? 128 : null))));
  return { p, exited, out: () => out };
}

describe("one process alone", () => {
  it("package.json names the gateway, workers and subgraph entry points npm start uses", () => {
    const scripts = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts.gateway).toContain("gateway/src/index.ts");
    expect(scripts.workers).toContain("scripts/workers.ts");
    expect(scripts.subgraph).toContain("scripts/subgraph.ts");
  });

  it("refuses an unknown subgraph name with the list of names", async () => {
    const run = npmRun(["subgraph", "--", "warehouse"]);
    expect(await run.exited).toBe(2);
    expect(run.out()).toContain('"warehouse" is not a subgraph');
    expect(run.out()).toContain("member, catalog, cart, order, payment, promotion, lottery");
  });

  it("starts the cart subgraph alone, answers on its port, and stops on SIGTERM", async () => {
    const port = await freePort();
    const run = npmRun(["subgraph", "--", "cart"], { CART_PORT: String(port), REDIS_PREFIX: `mg-proc-${port}` });
    try {
      const ready = await waitFor(
        () => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false),
        "the cart subgraph's /ready",
        30_000,
        150,
      ).catch(() => false);
      expect(ready, run.out()).toBe(true);
      const r = await fetch(`http://127.0.0.1:${port}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
      expect(await r.json()).toEqual({ data: { __typename: "Query" } });
    } finally {
      process.kill(-run.p.pid!, "SIGTERM");
    }
    await run.exited;
    // npm passes the signal on; the subgraph closes its server (nothing answers on the port). npm itself
    // can exit while its child is still closing (seen once under the full suite): wait for the close.
    const closed = await waitFor(
      () => fetch(`http://127.0.0.1:${port}/ready`).then(() => false, () => true),
      "the cart subgraph's port closed after SIGTERM",
      10_000,
      100,
    ).catch(() => false);
    expect(closed, run.out()).toBe(true);
  }, 60_000);
});
