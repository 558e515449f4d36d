/**
 * `npm run bench`: every figure of issue 7's table, each appended to bench/RESULTS.md with the
 * machine — the scenarios through the gateway (bench/run.ts: product detail with the response cache
 * off and, on a second gateway, on; search, direct-buy orders), the seckill storm and the order worker's
 * drain (bench/seckill.ts; the measured storm after an unmeasured one on another session item, both
 * recorded: decision 0042), and
 * our gateway against its peers (bench/gateway.ts). Each boots its own bench stack.
 *
 *   npm run bench                # all three
 *   npm run bench -- product     # bench/run.ts's scenarios whose name contains "product" only
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

const here = import.meta.dirname;
const filter = process.argv[2];
const runs: string[][] = filter ? [["run.ts", filter]] : [["run.ts"], ["seckill.ts", "--warm-up", "--record"], ["gateway.ts", "--record"]];
let failed = 0;
for (const [file, ...args] of runs) {
  console.log(`\n=== bench/${file} ${args.join(" ")}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(here, file!), ...args], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
