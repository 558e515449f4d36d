/**
 * One gateway against two behind a load balancer (issue 14, docs/scaling.md): the bench stack
 * (bench/lib/stack.ts: every subgraph, the workers and gateway A), a second gateway process B on the
 * same subgraphs and Redis, and the small reverse proxy of test/scale/proxy.ts in front. Each
 * scenario of bench/gateway.ts (members logged in, every plugin on, response cache off) runs through
 * the proxy twice: with A alone behind it, then with A and B — the proxy's own cost is in both.
 * Per run: req/s, p50/p99, and the CPU milliseconds per request of each gateway process.
 *
 *   npm run bench:scale                      # every scenario
 *   npm run bench:scale -- product           # scenarios whose name contains "product"
 *   npm run bench:scale -- --instances 3     # 1 against 3 gateways
 *   npm run bench:scale -- --record          # also append the table to bench/RESULTS.md
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=100 BENCH_WARMUP_SECONDS=3 npm run bench:scale
 *
 * On a machine with few cores the gateways share them with the subgraphs, PostgreSQL, Redis and the
 * load generator: a second gateway adds throughput only where a gateway process was the bottleneck.
 */
import { appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, processGroup } from "../scripts/stack.ts";
import { startProxy } from "../test/scale/proxy.ts";
import { prepareScenarios } from "./gateway.ts";
import { loadAverage } from "./lib/cpu.ts";
import { errorCounter, runLoad, RUN } from "./lib/load.ts";
import { bootBenchStack } from "./lib/stack.ts";

const root = path.resolve(import.meta.dirname, "..");
const { seconds, connections, warmup } = RUN;
const args = process.argv.slice(2);
const record = args.includes("--record");
const instancesAt = args.indexOf("--instances");
const instances = instancesAt >= 0 ? Number(args[instancesAt + 1]) : 2;
const filter = args.find((a, i) => !a.startsWith("--") && (instancesAt < 0 || i !== instancesAt + 1));
if (!Number.isInteger(instances) || instances < 2) throw new Error("--instances takes a whole number of at least 2");

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
const more = processGroup(stack.env, { stdio: "pipe", readyTimeoutMs: Number(process.env.BENCH_READY_TIMEOUT_MS ?? 240_000) });
const rows: string[] = [];
try {
  const first = { port: Number(new URL(stack.gatewayUrl).port), pid: stack.processes.get("gateway")?.pid ?? 0 };
  const others: Array<{ port: number; pid: number }> = [];
  for (let i = 1; i < instances; i++) {
    const port = await freePort();
    const id = `gateway-${String.fromCharCode(97 + i)}`;
    await more.start([
      {
        name: id,
        file: "gateway/src/index.ts",
        env: { GATEWAY_PORT: String(port), INSTANCE_ID: id },
        readyUrl: `http://127.0.0.1:${port}/ready`,
      },
    ]);
    others.push({ port, pid: more.processes.get(id)?.pid ?? 0 });
  }
  const scenarios = (await prepareScenarios(stack)).filter((s) => !filter || s.name.includes(filter));
  console.log(`machine: ${os.cpus().length} cores; ${seconds} s per run at ${connections} connections, ${warmup} s warm-up`);
  for (const s of scenarios) {
    console.log(s.name);
    for (const behind of [[first], [first, ...others]]) {
      const proxy = await startProxy({ targets: behind.map((g) => `127.0.0.1:${g.port}`) });
      try {
        const spec = s.requests({ name: "ours", url: `${proxy.url}/graphql`, pid: first.pid, ours: true });
        const url = `${proxy.url}/graphql`;
        if (warmup > 0) await runLoad({ url, next: spec.next, connections, seconds: warmup });
        const errors = errorCounter(spec.isFailure);
        const pids = Object.fromEntries(behind.map((g, i) => [`gateway ${i + 1}`, g.pid]));
        const r = await runLoad({ url, next: spec.next, check: errors.check, connections, seconds, pids });
        const cpu = behind.map((_, i) => (r.cpuPerRequest[`gateway ${i + 1}`] ?? 0).toFixed(3)).join(" + ");
        const failed = r.errors + r.non2xx + errors.failures();
        console.log(
          `  ${behind.length} gateway${behind.length > 1 ? "s" : ""}: ${r.rps} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  CPU ${cpu} ms/req  errors ${failed}  (${r.load})`,
        );
        rows.push(`| ${s.name} | ${behind.length} | ${r.rps} | ${r.p50} | ${r.p99} | ${cpu} | ${failed} | ${r.load} |`);
      } finally {
        await proxy.stop();
      }
    }
  }
} finally {
  await more.stop();
  await stack.stop();
}
const text = [
  "",
  `### One gateway against ${instances}, ${new Date().toISOString().slice(0, 10)} (bench/scale.ts)`,
  "",
  `${os.cpus().length} cores, load ${loadAverage()} at the end; ${seconds} s per run at ${connections} connections, through test/scale/proxy.ts both times.`,
  "",
  "| scenario | gateways | req/s | p50 ms | p99 ms | CPU ms/req of each gateway | errors | load (1/5/15 min, before → after) |",
  "|---|---|---|---|---|---|---|---|",
  ...rows,
  "",
].join("\n");
console.log(text);
if (record) appendFileSync(path.join(root, "bench", "RESULTS.md"), text);
