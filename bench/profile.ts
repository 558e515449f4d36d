/**
 * CPU profiles of the stack's processes under one benchmark load: boots the bench stack, prepares
 * the scenario, warms up, then profiles each named process (one at a time, each during its own
 * load run) through the inspector (bench/lib/profiler.ts). Writes bench/profiles/*.cpuprofile (not
 * committed; open them in Chrome DevTools or speedscope) and prints where the time goes.
 *
 *   npx tsx bench/profile.ts product gateway,catalog          # scenario name contains "product"
 *   npx tsx bench/profile.ts product catalog --direct         # straight at the subgraph, no gateway
 *   npx tsx bench/profile.ts seckill workers --after 20       # keep profiling 20 s after the load
 *   npx tsx bench/profile.ts "direct buy" order,workers       # bench/run.ts's place-order scenario
 *
 * Processes: gateway, member, catalog, cart, order, payment, promotion, lottery, workers.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { prepareScenarios, type Gateway } from "./gateway.ts";
import { cpuMs, loadAverage } from "./lib/cpu.ts";
import { errorCounter, runLoad, type RequestSpec } from "./lib/load.ts";
import { profileWhile } from "./lib/profiler.ts";
import { bootBenchStack, subgraphUrlOf } from "./lib/stack.ts";
import { areaTable, functionTable, summarise, type CpuProfile } from "./profile-summary.ts";
import { scenarios as runScenarios } from "./scenarios.ts";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const [scenarioName, processList] = args.filter(
  (a, i) => !a.startsWith("--") && !args[i - 1]?.match(/^--(seconds|after|connections|warmup)$/),
);
if (!scenarioName || !processList) {
  console.error(
    "usage: npx tsx bench/profile.ts <scenario> <process,…> [--direct] [--seconds 15] [--after 0] [--connections 50] [--warmup 5]",
  );
  process.exit(2);
}
const seconds = opt("seconds", 15);
const after = opt("after", 0);
const connections = opt("connections", 50);
const warmup = opt("warmup", 5);
const direct = args.includes("--direct");

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
const outDir = path.join(root, "bench", "profiles");
mkdirSync(outDir, { recursive: true });
try {
  const ours: Gateway = { name: "ours", url: stack.gatewayUrl, pid: stack.processes.get("gateway")!.pid!, ours: true };
  let url = ours.url;
  let make: () => { next: () => RequestSpec; isFailure?: (b: string) => boolean; notes?: () => string };
  const fromRun = runScenarios.find((s) => s.name.includes(scenarioName));
  if (fromRun) {
    const prepared = await fromRun.prepare(stack);
    make = () => ({ next: prepared.next });
  } else {
    const s = (await prepareScenarios(stack)).find((x) => x.name.includes(scenarioName));
    if (!s) throw new Error(`no scenario named like "${scenarioName}"`);
    if (direct) {
      if (!s.direct) throw new Error(`${s.name} has no direct run`);
      url = subgraphUrlOf(stack, s.direct.subgraph);
      make = s.direct.requests;
    } else make = () => s.requests(ours);
  }
  const spec = make();
  if (warmup > 0) await runLoad({ url, next: spec.next, connections, seconds: warmup });
  for (const name of processList.split(",")) {
    const pid = stack.processes.get(name)?.pid;
    if (!pid) throw new Error(`no process "${name}" (have ${[...stack.processes.keys()].join(", ")})`);
    const errors = errorCounter(spec.isFailure);
    const cpu0 = cpuMs(pid);
    const { profile, result } = await profileWhile(pid, async () => {
      const r = await runLoad({ url, next: spec.next, check: errors.check, connections, seconds });
      if (after > 0) await new Promise((res) => setTimeout(res, after * 1000));
      return r;
    });
    const cpu = cpuMs(pid) - cpu0;
    const file = path.join(
      outDir,
      `${new Date().toISOString().replace(/[:.]/g, "-")}-${scenarioName.replace(/\W+/g, "_")}${direct ? "-direct" : ""}-${name}.cpuprofile`,
    );
    writeFileSync(file, JSON.stringify(profile));
    const s = summarise(profile as CpuProfile);
    console.log(`\n### ${name} — ${scenarioName}${direct ? " (straight at the subgraph)" : ""}\n`);
    console.log(
      `${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.requests} requests, errors ${result.errors + result.non2xx + errors.failures()}${errors.firstFailure() ? ` (${errors.firstFailure()})` : ""}; ${name} CPU ${(cpu / result.requests).toFixed(3)} ms/request (${((s.busyMs / s.totalMs) * 100).toFixed(0)} % busy in the profile); ${result.load}; ${spec.notes?.() ?? ""}`,
    );
    console.log(`profile: ${path.relative(root, file)}\n`);
    console.log(areaTable(s, { requests: result.requests }));
    console.log();
    console.log(functionTable(s, 25));
  }
} finally {
  await stack.stop();
  console.log(`\n(${loadAverage()})`);
}
process.exit(0);
