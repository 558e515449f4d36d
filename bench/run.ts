/**
 * Benchmarks through the gateway, with everything (gateway, subgraphs, workers, PostgreSQL, Redis)
 * on this machine. Boots the stack on a dedicated database (mallgraph_bench, seeded with the demo
 * data), runs each scenario with autocannon at a fixed concurrency, prints the numbers and appends
 * them with the machine's description to bench/RESULTS.md.
 *
 *   npm run bench                 # every scenario, then bench/seckill.ts and bench/gateway.ts (bench/all.ts)
 *   npm run bench -- product      # only the scenarios here whose name contains "product"
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=64 npm run bench
 *   BENCH_URL=http://127.0.0.1:4000/graphql npm run bench   # against a stack that is already up
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import type { Stack } from "../scripts/stack.ts";
import { machine } from "./lib/cpu.ts";
import { bootBenchStack } from "./lib/stack.ts";
import { scenarios, type Scenario } from "./scenarios.ts";

const root = path.resolve(import.meta.dirname, "..");
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const filter = process.argv[2];

export interface Result {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  notes?: string;
}

async function runScenario(stack: Stack, s: Scenario): Promise<Result> {
  const prepared = await s.prepare(stack);
  const result = await autocannon({
    url: stack.gatewayUrl,
    connections: s.connections ?? connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (req: any) => {
          const { body, headers } = prepared.next();
          return { ...req, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } };
        },
        onResponse: (status: number, body: string) => prepared.check?.(status, body),
      },
    ],
  } as any);
  return {
    name: s.name,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + (prepared.failures?.() ?? 0),
    non2xx: result.non2xx,
    notes: prepared.notes?.(),
  };
}

const stack = await bootBenchStack();
const results: Result[] = [];
try {
  for (const s of scenarios.filter((x) => !filter || x.name.includes(filter))) {
    console.log(`running ${s.name} for ${seconds}s at ${s.connections ?? connections} connections…`);
    const r = await runScenario(stack, s);
    console.log(r);
    results.push(r);
  }
} finally {
  await stack.stop();
}

const file = path.join(root, "bench", "RESULTS.md");
if (!existsSync(file))
  writeFileSync(
    file,
    "# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts). Everything runs on the one machine named in each entry.\n",
  );
const rows = results
  .map((r) => `| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.requests} | ${r.errors + r.non2xx} | ${r.notes ?? ""} |`)
  .join("\n");
appendFileSync(
  file,
  `\n## ${new Date().toISOString()}\n\nMachine: ${machine()}. ${seconds} s per scenario, ${connections} connections unless noted.\n\n| scenario | req/s | p50 ms | p99 ms | requests | errors | notes |\n|---|---|---|---|---|---|---|\n${rows}\n`,
);
console.log(`appended to ${path.relative(root, file)}`);
process.exit(0);
