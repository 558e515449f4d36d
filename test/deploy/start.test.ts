/**
 * `npm start` without PostgreSQL or Redis: one clear line per missing service, then either the two
 * ways to get them (no Docker) or `docker compose up -d postgres redis` run for the user (a stand-in
 * `docker` records what it was asked). The URLs point at closed ports.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "@mallgraph/platform/testing";
import { freePort } from "../../scripts/stack.ts";

async function npmStart(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: "pipe" });
  let out = "";
  p.stdout.on("data", (b) => (out += b));
  p.stderr.on("data", (b) => (out += b));
  const code = await new Promise<number | null>((r) => p.once("exit", r));
  return { code, out };
}

describe("npm start without PostgreSQL and Redis", () => {
  it("says which one is unreachable in one line each and prints the two ways to get them when there is no Docker", async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const { code, out } = await npmStart({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${pgPort}/mallgraph`, REDIS_URL: `redis://127.0.0.1:${redisPort}`, MALLGRAPH_DOCKER: "/nonexistent/docker" });
    expect(code).toBe(1);
    const lines = out.split("\n");
    expect(lines).toContain(`PostgreSQL is not reachable at 127.0.0.1:${pgPort} (ECONNREFUSED).`);
    expect(lines).toContain(`Redis is not reachable at 127.0.0.1:${redisPort} (ECONNREFUSED).`);
    expect(out).toContain("Docker is not available");
    expect(out).toContain("docker compose up -d postgres redis");
    expect(out).toContain("apt-get install postgresql redis-server");
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
    expect(out).not.toContain("generating clients"); // stopped before setup
  });

  it("starts them with `docker compose up -d postgres redis` when Docker is available, then waits for them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mg-docker-"));
    try {
      const calls = path.join(dir, "calls");
      const docker = path.join(dir, "docker");
      writeFileSync(docker, `#!/bin/sh\necho "$@" >> "${calls}"\nexit 0\n`);
      chmodSync(docker, 0o755);
      const pgPort = await freePort();
      const { code, out } = await npmStart({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${pgPort}/mallgraph`, MALLGRAPH_DOCKER: docker, MALLGRAPH_SERVICES_WAIT_SECONDS: "2" });
      expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual(["info", "compose up -d postgres redis"]);
      expect(out.split("\n")).toContain(`PostgreSQL is not reachable at 127.0.0.1:${pgPort} (ECONNREFUSED).`);
      expect(out).not.toContain("Redis is not reachable"); // the real one on 6379 answers
      expect(out).toContain("Docker is available: starting them with `docker compose up -d postgres redis`");
      // The stand-in started nothing, so the wait ends with the same clear line.
      expect(code).toBe(1);
      expect(out).toContain("started the containers, but after 2 s: PostgreSQL is not reachable");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
