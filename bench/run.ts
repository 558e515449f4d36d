/**
 * Benchmarks through the gateway, with everything (gateway, subgraphs, workers, PostgreSQL, Redis)
 * on this machine. Boots the stack on a dedicated database (mallgraph_bench, seeded with the demo
 * data), runs each scenario with autocannon at a fixed concurrency, prints the numbers and appends
 * them with the machine's description to bench/RESULTS.md.
 *
 * Every scenario goes through the stack's gateway, which runs with GATEWAY_RESPONSE_CACHE=off (the
 * real path), except those marked `gateway: "cached"` (the "response cache ON" rows): they go to a
 * second gateway process with the cache on, against the same subgraphs (bench/lib/stack.ts
 * startCachedGateway), and their notes give the hit ratio measured from that gateway's /metrics.
 * Each row is measured after BENCH_WARMUP_SECONDS (3) of unmeasured load, with the answering
 * gateway's CPU ms per request.
 *
 *   npm run bench                 # every scenario, then bench/seckill.ts and bench/gateway.ts (bench/all.ts)
 *   npm run bench -- product      # only the scenarios here whose name contains "product"
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=64 npm run bench
 *   BENCH_URL=http://127.0.0.1:4000/graphql npm run bench   # against a stack that is already up
 *     (with BENCH_CACHED_URL=<a gateway with the cache on> for the cached rows)
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Stack } from "../scripts/stack.ts";
import { callsPerMiss, expectedHitRatio, gatewayCounters, hitRatio } from "./lib/cache-hits.ts";
import { loadAverage, machine } from "./lib/cpu.ts";
import { runLoad } from "./lib/load.ts";
import { bootBenchStack, startCachedGateway, type ExtraGateway } from "./lib/stack.ts";
import { scenarios, type Scenario } from "./scenarios.ts";

const root = path.resolve(import.meta.dirname, "..");
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Unmeasured load before each row: JIT, pools and — for the cached rows — the cache reach their steady state. */
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const filter = process.argv[2];

export interface Result {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU ms per request of the gateway that answered (the stack's, or the cached one). */
  gatewayCpu?: number;
  notes?: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

async function runScenario(stack: Stack, s: Scenario, cached: ExtraGateway | undefined): Promise<Result> {
  const prepared = await s.prepare(stack);
  const gateway = s.gateway === "cached" ? cached! : { url: stack.gatewayUrl, pid: stack.processes.get("gateway")?.pid ?? 0 };
  const conns = s.connections ?? connections;
  // the cached rows: what one miss costs in subgraph calls, measured before the cache holds anything of this row
  const perMiss = s.gateway === "cached" ? await callsPerMiss(gateway.url, prepared.next()) : 0;
  if (warmup > 0) await runLoad({ url: gateway.url, next: prepared.next, connections: conns, seconds: warmup });
  const before = perMiss ? await gatewayCounters(gateway.url) : undefined;
  const r = await runLoad({
    url: gateway.url,
    next: prepared.next,
    check: prepared.check,
    connections: conns,
    seconds,
    pids: gateway.pid ? { gateway: gateway.pid } : {},
  });
  let hits = "";
  if (before) {
    const after = await gatewayCounters(gateway.url);
    const ratio = hitRatio(before, after, perMiss);
    const expected = s.cache ? `, steady state at this rate ${pct(expectedHitRatio(s.cache.keys, s.cache.maxAgeSeconds, r.rps))}` : "";
    hits = `; cache hit ratio ${pct(ratio)} (gateway /metrics: ${after.calls - before.calls} subgraph calls at ${perMiss} per miss for ${after.requests - before.requests} requests${expected})`;
  }
  return {
    name: s.name,
    requests: r.requests,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors + (prepared.failures?.() ?? 0),
    non2xx: r.non2xx,
    gatewayCpu: r.cpuPerRequest.gateway,
    notes: `${prepared.notes?.() ?? ""}${hits}; ${r.load}`,
  };
}

const chosen = scenarios.filter((x) => !filter || x.name.includes(filter));
const stack = await bootBenchStack();
const results: Result[] = [];
let cached: ExtraGateway | undefined;
try {
  if (chosen.some((s) => s.gateway === "cached")) cached = await startCachedGateway(stack);
  for (const s of chosen) {
    const conns = s.connections ?? connections;
    console.log(`running ${s.name} for ${seconds}s (after ${warmup}s of warm-up) at ${conns} connections…`);
    const r = await runScenario(stack, s, cached);
    console.log(r);
    results.push(r);
  }
} finally {
  await cached?.stop();
  await stack.stop();
}

const file = path.join(root, "bench", "RESULTS.md");
if (!existsSync(file))
  writeFileSync(
    file,
    "# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts). Everything runs on the one machine named in each entry.\n",
  );
const rows = results
  .map(
    (r) =>
      `| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.requests} | ${r.gatewayCpu === undefined ? "–" : r.gatewayCpu.toFixed(3)} | ${r.errors + r.non2xx} | ${r.notes ?? ""} |`,
  )
  .join("\n");
appendFileSync(
  file,
  `\n## ${new Date().toISOString()}\n\nMachine: ${machine()}, ${loadAverage()} at the end. ${seconds} s per scenario after ${warmup} s of warm-up, ${connections} connections unless noted. Every row through the stack's gateway with GATEWAY_RESPONSE_CACHE=off except the "response cache ON" rows (a second gateway process with it on, same subgraphs).\n\n| scenario | req/s | p50 ms | p99 ms | requests | gateway CPU ms/req | errors | notes |\n|---|---|---|---|---|---|---|---|\n${rows}\n`,
);
console.log(`appended to ${path.relative(root, file)}`);
process.exit(0);
