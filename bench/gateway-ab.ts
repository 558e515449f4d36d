/**
 * An A/B of the gateway on one bench stack: `seckillBuy` (bench/gateway.ts's scenario: 50 members,
 * a new idempotency key each) through the stack's gateway and through other gateway processes
 * started next to it against the same subgraphs, Redis and seckill session, plus straight at the
 * promotion subgraph; short runs in rounds whose order turns each round, so a shared machine's
 * load falls on every arm alike. Per run: req/s and the CPU ms per request of the gateway that
 * served it and of promotion (from /proc); at the end the medians per arm.
 *
 *   npx tsx bench/gateway-ab.ts --before /path/to/other/checkout  # this tree vs a gateway from another checkout
 *   npx tsx bench/gateway-ab.ts --env GATEWAY_SINGLE_FETCH=off    # … vs this tree with a setting (repeatable)
 *   BENCH_SECONDS=5 npx tsx bench/gateway-ab.ts --rounds 6
 */
import { execFileSync } from "node:child_process";
import { prepareScenarios } from "./gateway.ts";
import { machineCpu } from "./lib/cpu.ts";
import { errorCounter, runLoad, RUN } from "./lib/load.ts";
import { bootBenchStack, startExtraGateway, subgraphUrlOf, type ExtraGateway } from "./lib/stack.ts";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(opt("rounds") ?? 6);
const before = opt("before");
const settings = args.flatMap((a, i) => (args[i - 1] === "--env" ? [a] : []));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);

/** The Redis server's pid (its CPU is everyone's: the arms' share of it is measured alike). */
const redisPid = (() => {
  try {
    return Number(execFileSync("pgrep", ["-o", "redis-server"]).toString().trim()) || undefined;
  } catch {
    return undefined;
  }
})();

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
const extra: ExtraGateway[] = [];
try {
  const promotion = stack.processes.get("promotion")!.pid!;
  const arms: Array<{ name: string; url: string; pid: number; direct?: boolean }> = [
    { name: "this tree", url: stack.gatewayUrl, pid: stack.processes.get("gateway")!.pid! },
  ];
  for (const setting of settings) {
    const [key = "", value = ""] = setting.split("=");
    const g = await startExtraGateway(stack, `gateway-${extra.length + 1}`, { [key]: value });
    extra.push(g);
    arms.push({ name: `this tree, ${setting}`, url: g.url, pid: g.pid });
  }
  if (before) {
    const b = await startExtraGateway(stack, "gateway-before", {}, before);
    extra.push(b);
    arms.push({ name: `before (${before})`, url: b.url, pid: b.pid });
  }
  const seckill = (await prepareScenarios(stack)).find((s) => s.name.startsWith("seckillBuy"))!;
  arms.push({ name: "promotion alone", url: subgraphUrlOf(stack, "promotion"), pid: promotion, direct: true });
  const results = new Map<
    string,
    Array<{ rps: number; gateway: number; promotion: number; loadgen: number; redis: number; busy: number }>
  >();
  // every arm warmed first (JIT, connections), not measured
  for (const a of arms) {
    const spec = a.direct ? seckill.direct!.requests() : seckill.requests({ name: a.name, url: a.url, pid: a.pid, ours: true });
    await runLoad({ url: a.url, next: spec.next, connections: RUN.connections, seconds: 3 });
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...arms].reverse() : arms;
    for (const a of order) {
      const spec = a.direct ? seckill.direct!.requests() : seckill.requests({ name: a.name, url: a.url, pid: a.pid, ours: true });
      const errors = errorCounter(spec.isFailure);
      const cpuBefore = machineCpu();
      const res = await runLoad({
        url: a.url,
        next: spec.next,
        check: errors.check,
        connections: RUN.connections,
        seconds,
        pids: { ...(a.direct ? {} : { gateway: a.pid }), promotion, ...(redisPid ? { redis: redisPid } : {}) },
      });
      const c = res.cpuPerRequest;
      const row = {
        rps: res.rps,
        gateway: c.gateway ?? 0,
        promotion: c.promotion ?? 0,
        loadgen: c["load generator"] ?? 0,
        redis: c.redis ?? 0,
        busy: machineCpu(cpuBefore).busyShare,
      };
      results.set(a.name, [...(results.get(a.name) ?? []), row]);
      console.log(
        `round ${r + 1} ${a.name.padEnd(45)} ${String(res.rps).padStart(6)} req/s  gateway ${row.gateway.toFixed(3)}  promotion ${row.promotion.toFixed(3)}  load generator ${row.loadgen.toFixed(3)}  redis ${row.redis.toFixed(3)} CPU ms/req  machine ${row.busy} % busy  errors ${res.errors + res.non2xx + errors.failures()}  (${res.load})`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `\n| arm | req/s (median of ${rounds}) | gateway CPU ms/req | promotion | load generator | redis | machine busy |\n|---|---|---|---|---|---|---|`,
  );
  for (const [name, rows] of results) {
    const m = (k: "gateway" | "promotion" | "loadgen" | "redis") => median(rows.map((x) => x[k])).toFixed(3);
    console.log(
      `| ${name} | ${median(rows.map((x) => x.rps))} | ${name === "promotion alone" ? "–" : m("gateway")} | ${m("promotion")} | ${m("loadgen")} | ${m("redis")} | ${median(rows.map((x) => x.busy))} % |`,
    );
  }
} finally {
  for (const e of extra) await e.stop();
  await stack.stop();
}
process.exit(0);
