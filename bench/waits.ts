/**
 * Where a scenario's latency waits (issue 7): boots the bench stack with MG_PROBE=1, warms up, then
 * runs the load while sampling pg_stat_activity (state and wait event of every backend of the bench
 * database, every 25 ms), pg_stat_wal and commits, the CPU of each process and of PostgreSQL's
 * backends; afterwards asks each process for its probe timings (SIGUSR2 → "PROBE {…}" on stderr).
 *
 *   npx tsx bench/waits.ts "direct buy" --connections 64 --seconds 15
 */
import { readFileSync } from "node:fs";
import pg from "pg";
import { cpuMs, loadAverage } from "./lib/cpu.ts";
import { errorCounter, runLoad } from "./lib/load.ts";
import { benchDatabaseUrl, bootBenchStack } from "./lib/stack.ts";
import { scenarios } from "./scenarios.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const scenarioName = args[0] ?? "direct buy";
const seconds = opt("seconds", 15);
const connections = opt("connections", 64);
const warmup = opt("warmup", 5);

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400", MG_PROBE: "1" } });
const dbName = new URL(benchDatabaseUrl()).pathname.slice(1);
const admin = new pg.Client({ connectionString: benchDatabaseUrl() });
await admin.connect();
const ticks = 100;
const procCpu = (pid: number) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
  } catch {
    return 0;
  }
};
try {
  const s = scenarios.find((x) => x.name.includes(scenarioName));
  if (!s) throw new Error(`no scenario like ${scenarioName}`);
  const prepared = await s.prepare(stack);
  const url = stack.gatewayUrl;
  await runLoad({ url, next: prepared.next, connections, seconds: warmup });
  const names = [...stack.processes.keys()];
  // only the processes that load the probe (packages/platform/src/probe.ts via prisma.ts) handle SIGUSR2; it ends the others
  const probed = names.filter((n) => ["order", "catalog", "promotion", "member"].includes(n));
  const signal = () => {
    for (const n of probed) {
      const pid = stack.processes.get(n)?.pid;
      try {
        if (pid) process.kill(pid, "SIGUSR2");
      } catch {
        console.log(`process ${n} (${pid}) is gone`);
      }
    }
  };
  signal(); // reset the probes' tallies
  await new Promise((r) => setTimeout(r, 300));
  const marks = names.map((n) => stack.output(n).length);
  const backends = async () =>
    (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName])).rows.map(
      (r) => r.pid,
    );
  const pgPids0 = await backends();
  const pgCpu0 = new Map(pgPids0.map((p) => [p, procCpu(p)]));
  const walQ = `SELECT wal_records::bigint, wal_bytes::bigint, wal_write::bigint, wal_sync::bigint, (SELECT xact_commit FROM pg_stat_database WHERE datname = $1)::bigint AS commits FROM pg_stat_wal`;
  const wal0 = (await admin.query(walQ, [dbName])).rows[0];
  const cpu0 = Object.fromEntries(names.map((n) => [n, cpuMs(stack.processes.get(n)!.pid!)]));
  const waits = new Map<string, number>();
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const r = await admin.query<{ app: string; state: string; w: string | null; q: string }>(
        `SELECT application_name AS app, state, wait_event_type || ':' || wait_event AS w, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS q
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [dbName],
      );
      samples++;
      for (const b of r.rows) {
        if (b.state === "idle") continue;
        const k = `${b.app.replace("mallgraph ", "")} | ${b.state} | ${b.w ?? "CPU/run"} | ${b.state === "active" ? b.q : ""}`;
        waits.set(k, (waits.get(k) ?? 0) + 1);
      }
      await new Promise((res) => setTimeout(res, 25));
    }
  })();
  const errors = errorCounter((b) => b.includes('"errors"') || !b.includes('"code":"OK"'));
  const r = await runLoad({ url, next: prepared.next, check: errors.check, connections, seconds });
  sampling = false;
  await sampler;
  const cpu = Object.fromEntries(names.map((n) => [n, cpuMs(stack.processes.get(n)!.pid!) - cpu0[n]!]));
  const wal1 = (await admin.query(walQ, [dbName])).rows[0];
  let pgCpu = 0;
  for (const p of pgPids0) pgCpu += procCpu(p) - (pgCpu0.get(p) ?? 0);
  signal();
  await new Promise((res) => setTimeout(res, 500));
  const orders = r.requests;
  console.log(`\n${s.name}: ${r.rps}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${orders} requests, failures ${errors.failures()}, ${r.load}`);
  console.log(`CPU ms per request: ${Object.entries(cpu).map(([k, v]) => `${k} ${(v / orders).toFixed(2)}`).join(", ")}, postgres backends ${(pgCpu / orders).toFixed(2)}, load generator ${r.cpuPerRequest["load generator"]?.toFixed(2)}`);
  const d = (k: string) => Number(wal1[k]) - Number(wal0[k]);
  console.log(`per request: commits ${(d("commits") / orders).toFixed(2)}, WAL records ${(d("wal_records") / orders).toFixed(1)}, WAL bytes ${(d("wal_bytes") / orders).toFixed(0)}, WAL writes ${(d("wal_write") / orders).toFixed(2)}, WAL syncs ${(d("wal_sync") / orders).toFixed(2)} (cluster-wide: other benches count too)`);
  console.log(`\npg_stat_activity, average backends per sample (${samples} samples), non-idle:`);
  for (const [k, v] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${(v / samples).toFixed(2)}  ${k}`);
  console.log("\nprobes:");
  names.forEach((n, i) => {
    const lines = stack.output(n).slice(marks[i]).split("\n").filter((l) => l.includes("PROBE "));
    const last = lines.at(-1);
    if (!last) return;
    const j = JSON.parse(last.slice(last.indexOf("PROBE ") + 6));
    if (!Object.keys(j.steps).length && !Object.values(j.pools as Record<string, { busy: number }>).some((p) => p.busy > 0)) return;
    console.log(`  ${n}:`);
    for (const [k, v] of Object.entries(j.steps).sort()) console.log(`    ${k}: ${JSON.stringify(v)}`);
    for (const [k, v] of Object.entries(j.pools)) console.log(`    pool ${k}: ${JSON.stringify(v)}`);
  });
} finally {
  await admin.end();
  await stack.stop();
}
