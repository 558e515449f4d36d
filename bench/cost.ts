/**
 * Where one operation's CPU goes, over every process that serves it: boots the bench stack, prepares
 * one of bench/run.ts's scenarios, warms up, then measures one load run and prints, per operation,
 * the CPU ms of each stack process (gateway, subgraphs, workers), of the PostgreSQL backends each of
 * them holds (pg_stat_activity's client port → the process owning that socket, `ss -tnp`), of the
 * Redis server (shared with whatever else runs on the machine: an upper bound) and of the load
 * generator; the SQL statements each process sent (mg_prisma_queries_total on its /metrics) and the
 * commits of the bench database. Then, for a few seconds more, Redis commands per operation and
 * process (MONITOR, filtered to this stack's connections; it slows Redis, so it is not in the CPU
 * window).
 *
 *   BENCH_DATABASE=mallgraph_bench_me BENCH_REDIS_PREFIX=benchme npx tsx bench/cost.ts "direct buy" [--seconds 20] [--warmup 5] [--idle 5] [--monitor 3]
 *
 * Linux only (/proc, ss). Nothing is appended to bench/RESULTS.md: copy what matters into a section.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import pg from "pg";
import { loadConfig } from "../packages/platform/src/config.ts";
import { cpuMs, loadAverage, machine, processTree } from "./lib/cpu.ts";
import { runLoad } from "./lib/load.ts";
import { benchDatabaseUrl, bootBenchStack } from "./lib/stack.ts";
import { scenarios } from "./scenarios.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const filter = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const scenario = scenarios.find((s) => filter && s.name.includes(filter));
if (!scenario) {
  console.error(`usage: npx tsx bench/cost.ts <scenario name part> [--seconds 20] [--warmup 5] [--idle 5] [--monitor 3]`);
  process.exit(2);
}
const seconds = opt("seconds", 20);
const warmup = opt("warmup", 5);
const monitorSeconds = opt("monitor", 3);
const idleSeconds = opt("idle", 5);

const ticks = 100;
function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** local TCP port → pid of the process owning that socket, for connections to `remotePort`. */
function socketOwners(remotePort: number): Map<number, number> {
  const out = new Map<number, number>();
  const text = execFileSync("ss", ["-tnpH", "state", "established", `( dport = :${remotePort} )`]).toString();
  for (const line of text.split("\n")) {
    const m = line.match(/\S+:(\d+)\s+\S+:\d+\s+users:\(\("[^"]*",pid=(\d+)/);
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
const dbName = new URL(benchDatabaseUrl()).pathname.slice(1);
const admin = new pg.Client({ connectionString: benchDatabaseUrl() });
await admin.connect();
try {
  const roots = Object.fromEntries([...stack.processes].map(([name, p]) => [name, p.pid!]));
  /** pid → stack process name, for every pid in each root's tree. */
  const ownerOf = () => {
    const m = new Map<number, string>();
    for (const [name, pid] of Object.entries(roots)) for (const p of processTree(pid)) m.set(p, name);
    return m;
  };
  // what the scenario's preparation costs (e.g. registering its members: scrypt in member) is not per operation
  const beforePrepare = Object.fromEntries(Object.entries(roots).map(([k, pid]) => [k, cpuMs(pid)]));
  const prepared = await scenario.prepare(stack);
  const prepareCpu = Object.entries(roots)
    .map(([k, pid]) => [k, cpuMs(pid) - beforePrepare[k]!] as const)
    .filter(([, ms]) => ms >= 100)
    .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
    .join(", ");
  // what the stack spends with no load (sweeps, relays, queue polling): a fixed cost per second, not per operation
  const idleFrom = Object.fromEntries(Object.entries(roots).map(([k, pid]) => [k, cpuMs(pid)]));
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idleCpu = Object.entries(roots).map(([k, pid]) => [k, (cpuMs(pid) - idleFrom[k]!) / idleSeconds] as const);
  const conns = scenario.connections ?? 64;
  if (warmup > 0) await runLoad({ url: stack.gatewayUrl, next: prepared.next, connections: conns, seconds: warmup });

  /** PostgreSQL backends of the bench database, each with the stack process holding its socket. */
  const backends = async () => {
    const { rows } = await admin.query<{ pid: number; client_port: number }>(
      `SELECT pid, client_port FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [dbName],
    );
    const owners = socketOwners(5432);
    const names = ownerOf();
    return rows.map((r) => ({ pid: r.pid, owner: names.get(owners.get(r.client_port) ?? -1) ?? "other" }));
  };
  const statements = async () => {
    const out: Record<string, number> = {};
    for (const [name] of stack.processes) {
      const port = name === "gateway" ? undefined : stack.env[`${name === "workers" ? "WORKERS" : name.toUpperCase()}_PORT`];
      if (!port) continue;
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        out[name] = text
          .split("\n")
          .filter((l) => l.startsWith("mg_prisma_queries_total"))
          .reduce((s, l) => s + Number(l.split(" ").pop()), 0);
      } catch {
        /* no metrics */
      }
    }
    return out;
  };
  const commits = async () =>
    (await admin.query(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1`, [dbName])).rows[0].n as string;
  const redisInfo = await new Redis(loadConfig().REDIS_URL);
  const redisPid = Number(String(await redisInfo.info("server")).match(/process_id:(\d+)/)?.[1]);

  const b0 = await backends();
  const pgStart = new Map(b0.map((b) => [b.pid, procTicks(b.pid)]));
  const st0 = await statements();
  const c0 = Number(await commits());
  const r0 = procTicks(redisPid);
  const procStart = Object.fromEntries(Object.entries(roots).map(([k, pid]) => [k, cpuMs(pid)]));
  const r = await runLoad({ url: stack.gatewayUrl, next: prepared.next, check: prepared.check, connections: conns, seconds });
  const procCpu = Object.fromEntries(Object.entries(roots).map(([k, pid]) => [k, cpuMs(pid) - procStart[k]!]));
  const redisCpu = ((procTicks(redisPid) - r0) * 1000) / ticks;
  const b1 = await backends();
  const st1 = await statements();
  const c1 = Number(await commits());
  const pgCpu: Record<string, number> = {};
  for (const b of b1) pgCpu[b.owner] = (pgCpu[b.owner] ?? 0) + ((procTicks(b.pid) - (pgStart.get(b.pid) ?? 0)) * 1000) / ticks;

  const n = r.requests;
  const per = (x: number) => (n ? x / n : 0).toFixed(2);
  const rows: Array<[string, string, string, string]> = [];
  let total = 0;
  for (const name of Object.keys(roots)) {
    const pgMs = pgCpu[name] ?? 0;
    total += procCpu[name]! + pgMs;
    const stmts = st1[name] !== undefined ? per((st1[name] ?? 0) - (st0[name] ?? 0)) : "";
    rows.push([name, per(procCpu[name]!), per(pgMs), stmts]);
  }
  if (pgCpu.other) rows.push(["(backends of no stack process)", "", per(pgCpu.other), ""]);
  total += redisCpu + r.cpuPerRequest["load generator"]! * n + (pgCpu.other ?? 0);
  rows.push(["Redis server (shared: upper bound)", per(redisCpu), "", ""]);
  rows.push(["load generator", r.cpuPerRequest["load generator"]!.toFixed(2), "", ""]);
  rows.push(["**total**", per(total), "", ""]);

  console.log(`\n${scenario.name} — ${machine()}`);
  console.log(
    `${n} answered in ${seconds} s = ${r.rps}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${prepared.failures?.() ?? 0} failed; ${r.load}; ${conns} connections`,
  );
  console.log(`${per(c1 - c0)} commits per operation in ${dbName}`);
  console.log(`CPU of the scenario's preparation, before the warm-up (not counted below): ${prepareCpu || "none ≥ 0.1 s"}`);
  console.log(
    `CPU of the stack with no load (${idleSeconds} s after the preparation), ms per second: ${idleCpu
      .map(([k, ms]) => `${k} ${ms.toFixed(0)}`)
      .join(", ")} — total ${idleCpu.reduce((a, [, ms]) => a + ms, 0).toFixed(0)} (counted below, spread over the operations)`,
  );
  console.log(`\n| process | CPU ms per op | its PostgreSQL backends, CPU ms per op | SQL statements per op |\n|---|---|---|---|`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  if (prepared.notes) console.log(`\n${prepared.notes()}`);

  if (monitorSeconds > 0) {
    // Redis commands per operation and process: MONITOR sees every client's commands with its address
    const redisOwners = socketOwners(6379);
    const names = ownerOf();
    const counts = new Map<string, Map<string, number>>();
    const monitor = await redisInfo.monitor();
    // ioredis may stumble on a MONITOR line it did not expect (seen once: "Command queue state error"): a sample, not a failure
    monitor.on("error", (e: Error) => console.error(`MONITOR: ${e.message.slice(0, 120)}`));
    let answered = 0;
    monitor.on("monitor", (_time: string, cmd: string[], source: string) => {
      const port = Number(source.split(":").pop());
      const owner = names.get(redisOwners.get(port) ?? -1);
      if (!owner) return;
      const m = counts.get(owner) ?? new Map<string, number>();
      const c = (cmd[0] ?? "").toLowerCase();
      m.set(c, (m.get(c) ?? 0) + 1);
      counts.set(owner, m);
    });
    const r2 = await runLoad({ url: stack.gatewayUrl, next: prepared.next, connections: conns, seconds: monitorSeconds });
    answered = r2.requests;
    monitor.disconnect();
    console.log(`\nRedis commands per operation (MONITOR during ${monitorSeconds} s more, ${answered} answered):`);
    for (const [owner, m] of counts) {
      const all = [...m.values()].reduce((a, b) => a + b, 0);
      const top = [...m]
        .sort((a, b) => b[1] - a[1])
        .map(([c, k]) => `${c} ${(k / answered).toFixed(2)}`)
        .join(", ");
      console.log(`- ${owner}: ${(all / answered).toFixed(2)} (${top})`);
    }
  }
  redisInfo.disconnect();
} finally {
  await admin.end();
  await stack.stop();
}
console.log(loadAverage());
process.exit(0);
