/**
 * A real local Redis Cluster for tests and benchmarks (decision 0033): `masters` redis-server
 * processes (Debian's redis-server, `cluster-enabled yes`) on free ports of 127.0.0.1, each in a
 * temporary directory, joined with `redis-cli --cluster create … --cluster-replicas 0`. `stop()`
 * ends the processes it started and removes the directories.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** `host:port,host:port,…` — the value of REDIS_CLUSTER_NODES. */
  nodes: string;
  ports: number[];
  stop: () => Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** `n` consecutive ports from `base` whose cluster bus ports (+10000) are free too; tries other bases. */
async function freePorts(n: number, base?: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = attempt === 0 && base ? base : 20_000 + Math.floor(Math.random() * 9_000);
    const ports = Array.from({ length: n }, (_, i) => start + i);
    const free = await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10_000)]));
    if (free.every(Boolean)) return ports;
  }
  throw new Error("no free ports for a local Redis Cluster");
}

async function clusterState(port: number): Promise<string> {
  const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]).catch(() => ({ stdout: "" }));
  return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? "down";
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`local Redis Cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedisCluster(opts: { masters?: number; basePort?: number } = {}): Promise<LocalRedisCluster> {
  const masters = opts.masters ?? 3;
  const ports = await freePorts(masters, opts.basePort);
  const dir = mkdtempSync(path.join(tmpdir(), "mg-redis-cluster-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const nodeDir = mkdtempSync(path.join(dir, `${port}-`));
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          path.join(nodeDir, "nodes.conf"),
          "--cluster-node-timeout",
          "5000",
          "--dir",
          nodeDir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--logfile",
          path.join(nodeDir, "redis.log"),
        ],
        { stdio: "ignore" },
      );
      children.push(child);
    }
    await until("the nodes to answer", async () => (await Promise.all(ports.map(clusterState))).every((s) => s !== "down"));
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    await until("every slot to be served", async () => (await Promise.all(ports.map(clusterState))).every((s) => s === "ok"));
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(","), ports, stop };
}
