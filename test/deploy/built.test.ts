/**
 * The compiled JavaScript runs: `scripts/build.ts` builds into a scratch folder, then the built
 * catalog subgraph, the workers and the gateway are started with plain `node` (no tsx), answer
 * /ready, and a query goes through the built gateway to the built catalog.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOMAINS } from "@mallgraph/platform/config";
import { createTestDatabase, createTestRedis, productionEnv, randomId, REPO_ROOT, waitFor, type TestDatabase, type TestRedis } from "@mallgraph/platform/testing";
import { build } from "../../scripts/build.ts";
import { freePort } from "../../scripts/stack.ts";

const out = path.join(REPO_ROOT, `.build-test-${randomId(4)}`);
const procs: ChildProcess[] = [];
const logs: string[] = [];
let db: TestDatabase;
let tr: TestRedis;
let prodEnv: Record<string, string>;

beforeAll(async () => {
  build(out);
  // What `npm ci --omit=dev` does in the image: the workspace package resolves to the built one.
  mkdirSync(path.join(out, "node_modules/@mallgraph"), { recursive: true });
  symlinkSync(path.join(out, "packages/platform"), path.join(out, "node_modules/@mallgraph/platform"), "dir");
  db = await createTestDatabase(DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations"))));
  tr = createTestRedis();
  prodEnv = await productionEnv();
}, 300_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGTERM"))))));
  await db?.drop();
  await tr?.cleanup();
  rmSync(out, { recursive: true, force: true });
});

function run(file: string, env: Record<string, string>): ChildProcess {
  // As in the image (NODE_OPTIONS): the tracing preload, a no-op here without an OTLP endpoint.
  const p = spawn(process.execPath, ["--import", "./packages/platform/src/tracing/preload.js", file], { cwd: out, env: { ...process.env, ...prodEnv, LOG_LEVEL: "warn", DATABASE_URL: db.url, REDIS_PREFIX: tr.prefix, ...env }, stdio: "pipe" });
  p.stdout!.on("data", (b) => logs.push(String(b)));
  p.stderr!.on("data", (b) => logs.push(String(b)));
  procs.push(p);
  return p;
}

async function ready(port: number, what: string, proc: ChildProcess): Promise<void> {
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}):\n${logs.join("")}`);
    return (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.ok;
  }, `${what} /ready`, 60_000, 200);
}

describe("the build", () => {
  it("compiles every workspace to JavaScript next to the files it reads, with no TypeScript left to run", () => {
    for (const f of ["gateway/src/index.js", "scripts/workers.js", "packages/platform/src/subgraph.js", "schema/supergraph.graphql", "schema/operations/manifest.json", "gateway/src/lua/leaseWindow-counters.lua"]) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    for (const d of DOMAINS) {
      expect(existsSync(path.join(out, `subgraphs/${d}/src/index.js`)), d).toBe(true);
      expect(existsSync(path.join(out, `subgraphs/${d}/schema.graphql`)), d).toBe(true);
    }
    expect(JSON.parse(readFileSync(path.join(out, "packages/platform/package.json"), "utf8")).exports).toEqual({ "./*": "./src/*.js" });
    expect(readFileSync(path.join(out, "subgraphs/order/src/index.js"), "utf8")).not.toMatch(/from "\.[^"]*\.ts"/);
  });

  it("runs with node alone: the built catalog, workers and gateway answer /ready and a query", async () => {
    const [catalogPort, workersPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const ports = { CATALOG_PORT: String(catalogPort), WORKERS_PORT: String(workersPort), GATEWAY_PORT: String(gatewayPort) };
    const catalog = run("subgraphs/catalog/src/index.js", ports);
    await ready(catalogPort, "catalog", catalog);
    const workers = run("scripts/workers.js", ports);
    await ready(workersPort, "workers", workers);
    const gateway = run("gateway/src/index.js", ports);
    await waitFor(async () => {
      if (gateway.exitCode !== null) throw new Error(`gateway exited:\n${logs.join("")}`);
      return (await fetch(`http://127.0.0.1:${gatewayPort}/health`).catch(() => undefined))?.ok;
    }, "gateway /health", 60_000, 200);
    const r = await fetch(`http://127.0.0.1:${gatewayPort}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ brands { id } }" }) });
    expect(await r.json()).toEqual({ data: { brands: [] } });
    // Only the catalog runs, so the gateway's own /ready names the others as unreachable.
    const gr = await fetch(`http://127.0.0.1:${gatewayPort}/ready`);
    expect(gr.status).toBe(503);
    expect((await gr.json()).catalog).toBe("ready");
  }, 240_000); // three processes booted one after another: over the 60 s default on a loaded host
});
