/**
 * The seckill storm and the orders that follow, through the real stack (bench stack, gateway):
 *
 * 1. storm: M members × A attempts of `seckillBuy` (a new idempotency key each) against one session
 *    item of `stock`, 50 connections: attempts/s, and exactly `stock` OK answers;
 * 2. orders: the workers process is stopped (SIGSTOP) during the storm and continued after, so the
 *    drain of the seckill streams is measured alone: orders/s from reservations, and exactly one
 *    order per OK reservation (counted in the order schema).
 *
 *   npx tsx bench/seckill.ts                                   # 200 members × 25 attempts, stock 2,000
 *   npx tsx bench/seckill.ts --members 50 --attempts 40 --stock 1000
 *   npx tsx bench/seckill.ts --profile workers                 # CPU profile of a process during the drain
 *   npx tsx bench/seckill.ts --profile-storm promotion         # … or during the storm
 *   npx tsx bench/seckill.ts --warm-up                         # an unmeasured storm on another session item first
 *   npx tsx bench/seckill.ts --warm-up --pairs 2               # … and 2 pairs of storms, bodies made per request / beforehand
 *   npx tsx bench/seckill.ts --record                          # also append the figures to bench/RESULTS.md
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { domainDatabaseUrl } from "../packages/platform/src/config.ts";
import { adminToken, benchMembers, seckillSession, SECKILL_BUY } from "./gateway.ts";
import { cpuMeter, loadAverage, machine, machineCpu } from "./lib/cpu.ts";
import { profileWhile } from "./lib/profiler.ts";
import { bootBenchStack } from "./lib/stack.ts";
import { areaTable, functionTable, summarise, type CpuProfile } from "./profile-summary.ts";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const memberCount = Number(opt("members") ?? 200);
const attempts = Number(opt("attempts") ?? 25);
const stock = Number(opt("stock") ?? 2000);
const connections = Number(opt("connections") ?? 50);
const profileDrain = opt("profile");
const profileStorm = opt("profile-storm");
const record = args.includes("--record");
const warmUp = args.includes("--warm-up");
// Every attempt's body is made before the clock starts (the load generator shares the 2 cores with the
// stack); --bodies-per-request makes each in autocannon's setupRequest instead, as before decision 0047
const precompute = !args.includes("--bodies-per-request");
// --pairs N: N pairs of measured storms before the last one, bodies made per request and before the clock (each drained before the next)
const pairs = Number(opt("pairs") ?? 0);
const lines: string[] = [];
const report = (line: string) => {
  console.log(line);
  lines.push(line.trim());
};

async function maybeProfile<T>(
  stack: Awaited<ReturnType<typeof bootBenchStack>>,
  name: string | undefined,
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!name) return fn();
  const pid = stack.processes.get(name)?.pid;
  if (!pid) throw new Error(`no process ${name}`);
  const { profile, result } = await profileWhile(pid, fn);
  mkdirSync(path.join(root, "bench", "profiles"), { recursive: true });
  const file = path.join(
    root,
    "bench",
    "profiles",
    `${new Date().toISOString().replace(/[:.]/g, "-")}-seckill-${label}-${name}.cpuprofile`,
  );
  writeFileSync(file, JSON.stringify(profile));
  const s = summarise(profile as CpuProfile);
  console.log(`\n### ${name} during the ${label} (${path.relative(root, file)})\n`);
  console.log(areaTable(s, { grouped: true, minShare: 0.01, requests: stock }));
  console.log();
  console.log(functionTable(s, 30));
  return result;
}

const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
const db = new pg.Client({ connectionString: domainDatabaseUrl(stack.env.DATABASE_URL!, "order").replace(/\?schema=.*$/, "") });
await db.connect();
try {
  const url = stack.gatewayUrl;
  console.log(`registering ${memberCount} members…`);
  const ms = await benchMembers(url, memberCount);
  const admin = await adminToken(url);
  const workers = stack.processes.get("workers")!;
  const pids = { gateway: stack.processes.get("gateway")!.pid!, promotion: stack.processes.get("promotion")!.pid! };
  const count = async (ids: string[]) =>
    Number((await db.query(`SELECT count(*)::int AS n FROM "order"."Order" WHERE "seckillReservationId" = ANY($1)`, [ids])).rows[0].n);

  /** One storm: every member's attempts against one session item, the workers stopped (the reservations wait in the streams). */
  const runStorm = async (session: { sessionId: string; skuId: string }, profile: string | undefined, pre = precompute) => {
    const codes = new Map<string, number>();
    const reservations: string[] = [];
    let i = 0;
    workers.kill("SIGSTOP");
    // what the two processes spend with no request at all (timers, connections' upkeep): it counts in
    // every attempt's share, more so the longer a storm takes
    const idleMeter = cpuMeter(pids);
    await new Promise((r) => setTimeout(r, 2000));
    const idle = idleMeter.stop();
    const total0 = memberCount * attempts;
    // the bodies (unless --bodies-per-request) and header sets of every attempt, made before the clock starts
    const bodies = pre
      ? Array.from({ length: total0 }, () =>
          JSON.stringify({ query: SECKILL_BUY, variables: { ...session, quantity: 1, idempotencyKey: randomUUID() } }),
        )
      : [];
    const headerSets = ms.map((m) => ({ "content-type": "application/json", authorization: `Bearer ${m.token}` }));
    // the timeline: when requests leave the load generator and answers come back, per 100 ms
    const sentAt: number[] = [];
    const answeredAt: number[] = [];
    const meter = cpuMeter(pids);
    let cpuAtLast: Record<string, number> | undefined;
    let machineAtLast: { busyShare: number; cores: number } | undefined;
    const machineBefore = machineCpu();
    const loadBefore = loadAverage();
    const started = Date.now();
    const t0 = performance.now();
    const result = await maybeProfile(stack, profile, "storm", () =>
      autocannon({
        url,
        connections,
        amount: total0,
        requests: [
          {
            method: "POST",
            setupRequest: (req: any) => {
              const k = i++;
              sentAt.push(performance.now() - t0);
              return {
                ...req,
                headers: headerSets[k % ms.length],
                body: pre
                  ? bodies[k % total0]
                  : JSON.stringify({ query: SECKILL_BUY, variables: { ...session, quantity: 1, idempotencyKey: randomUUID() } }),
              };
            },
            onResponse: (_s: number, body: string) => {
              answeredAt.push(performance.now() - t0);
              // the CPU of the storm ends with its last answer, not with autocannon's next 1 s tick
              if (answeredAt.length === total0) {
                cpuAtLast = meter.stop();
                machineAtLast = machineCpu(machineBefore);
              }
              const m = /"code":"([A-Z_]+)","reservationId":(null|"([^"]+)")/.exec(body);
              const code = m?.[1] ?? "ERROR";
              codes.set(code, (codes.get(code) ?? 0) + 1);
              if (code === "OK" && m?.[3]) reservations.push(m[3]);
            },
          },
        ],
      } as any),
    );
    const returnedMs = Date.now() - started;
    const cpu = cpuAtLast ?? meter.stop();
    const total = (result as any).requests.total as number;
    // The storm lasts from the start (autocannon opening its connections) to the last answer. With
    // `amount`, autocannon returns only at its next 1 s sample tick after that: up to a second in which
    // nothing is asked, which the figure before decision 0047 counted (given beside it).
    const stormMs = answeredAt.at(-1) ?? returnedMs;
    const machineUse = machineAtLast ?? machineCpu(machineBefore);
    const per100 = new Array<number>(Math.ceil(stormMs / 100) + 1).fill(0);
    for (const t of answeredAt) per100[Math.floor(t / 100)]!++;
    const line = `${memberCount} members × ${attempts} attempts = ${total} in ${(stormMs / 1000).toFixed(2)} s → ${Math.round(total / (stormMs / 1000))} attempts/s (start to last answer; to autocannon's return ${(returnedMs / 1000).toFixed(2)} s → ${Math.round(total / (returnedMs / 1000))}/s), p50 ${(result as any).latency.p50} ms, p99 ${(result as any).latency.p99} ms; answers ${[...codes].map(([c, n]) => `${c} ${n}`).join(", ")} (stock ${stock}: ${codes.get("OK") === stock ? "exact" : "NOT EXACT"}); CPU per attempt: gateway ${(cpu.gateway! / total).toFixed(3)} ms, promotion ${(cpu.promotion! / total).toFixed(3)} ms, load generator ${(cpu["load generator"]! / total).toFixed(3)} ms (idle beforehand: gateway ${(idle.gateway! / 2).toFixed(1)}, promotion ${(idle.promotion! / 2).toFixed(1)} CPU ms/s); ${loadBefore} → ${loadAverage().replace(/^load /, "")}`;
    const timeline = `timeline: first request sent ${sentAt[0]?.toFixed(0)} ms, first answer ${answeredAt[0]?.toFixed(0)} ms, last answer ${stormMs.toFixed(0)} ms; answers per 100 ms: ${per100.join(" ")}; the machine (both cores, everyone's) ${machineUse.busyShare} % busy`;
    return { line: `${line}\n  ${timeline}`, reservations };
  };

  const drained = async (reservations: string[]) => {
    workers.kill("SIGCONT");
    for (let t = 0; (await count(reservations)) < reservations.length && t < 1200; t++) await new Promise((r) => setTimeout(r, 100));
  };

  // 0. --warm-up: the same storm against another session item first, not measured. The measured storm
  // is otherwise the first seckillBuy traffic of a freshly booted stack (cold JIT, cold per-document
  // and per-item caches, new connections) — a real flash sale hits servers that have been running.
  if (warmUp) {
    const first = await runStorm(await seckillSession(url, admin, stock, stock), undefined);
    report(`\nwarm-up storm (another session item, not the measured figure): ${first.line}`);
    // its orders are made before the measured storm, so they neither compete with it nor count in the drain
    await drained(first.reservations);
  }

  for (let p = 0; p < pairs; p++)
    for (const pre of p % 2 ? [true, false] : [false, true]) {
      const s = await runStorm(await seckillSession(url, admin, stock, stock), undefined, pre);
      report(`\npair ${p + 1}, ${pre ? "bodies made before the clock" : "bodies made per request"}: ${s.line}`);
      await drained(s.reservations);
    }

  // 1. the storm
  const session = await seckillSession(url, admin, stock, stock);
  const { line, reservations } = await runStorm(session, profileStorm);
  report(`\nstorm${warmUp ? " (after the warm-up storm)" : ""}: ${line}`);

  // 2. the orders: continue the workers and time the drain
  const workersPid = stack.processes.get("workers")!.pid!;
  const orderPid = stack.processes.get("order")!.pid!;
  const drainMeter = cpuMeter({ workers: workersPid, order: orderPid });
  const drainLoad = loadAverage();
  const t0 = Date.now();
  workers.kill("SIGCONT");
  const made = await maybeProfile(stack, profileDrain, "drain", async () => {
    let n = 0;
    for (let last = -1, still = 0; n < reservations.length && still < 600;) {
      await new Promise((r) => setTimeout(r, 100));
      n = await count(reservations);
      still = n === last ? still + 1 : 0;
      last = n;
    }
    return n;
  });
  const drainMs = Date.now() - t0;
  const dcpu = drainMeter.stop();
  const duplicates = Number(
    (
      await db.query(
        `SELECT count(*)::int AS n FROM (SELECT "seckillReservationId" FROM "order"."Order" WHERE "seckillReservationId" = ANY($1) GROUP BY 1 HAVING count(*) > 1) d`,
        [reservations],
      )
    ).rows[0].n,
  );
  report(
    `orders: ${made} orders for ${reservations.length} OK reservations in ${(drainMs / 1000).toFixed(1)} s → ${Math.round(made / (drainMs / 1000))} orders/s; ${made === reservations.length && duplicates === 0 ? "exactly one order per reservation" : `MISMATCH (duplicates ${duplicates})`}; CPU per order: workers ${(dcpu.workers! / Math.max(made, 1)).toFixed(3)} ms, order subgraph ${(dcpu.order! / Math.max(made, 1)).toFixed(3)} ms; ${drainLoad} → ${loadAverage().replace(/^load /, "")}`,
  );
  if (record)
    appendFileSync(
      path.join(root, "bench", "RESULTS.md"),
      `\n## Seckill storm and orders — ${new Date().toISOString()}\n\nMachine: ${machine()}. \`npx tsx bench/seckill.ts --members ${memberCount} --attempts ${attempts} --stock ${stock}${warmUp ? " --warm-up" : ""}${precompute ? "" : " --bodies-per-request"}\`, ${connections} connections.\n\n${lines.map((l) => `- ${l}`).join("\n")}\n`,
    );
} finally {
  stack.processes.get("workers")?.kill("SIGCONT");
  await db.end();
  await stack.stop();
}
process.exit(0);
