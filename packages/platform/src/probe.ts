// TEMPORARY timing probe (issue 7 investigation; removed before merge)
const acc = new Map<string, { n: number; sum: number; max: number }>();
export function probe(name: string, t0: number): number {
  const t = performance.now();
  const a = acc.get(name) ?? { n: 0, sum: 0, max: 0 };
  a.n++;
  a.sum += t - t0;
  a.max = Math.max(a.max, t - t0);
  acc.set(name, a);
  return t;
}
const pools: Array<[string, { totalCount: number; idleCount: number; waitingCount: number }]> = [];
export function probePool(name: string, p: { totalCount: number; idleCount: number; waitingCount: number }) {
  pools.push([name, p]);
}
const poolAcc = new Map<string, { n: number; waiting: number; busy: number; maxWaiting: number }>();
if (process.env.MG_PROBE) {
  setInterval(() => {
    for (const [name, p] of pools) {
      const a = poolAcc.get(name) ?? { n: 0, waiting: 0, busy: 0, maxWaiting: 0 };
      a.n++;
      a.waiting += p.waitingCount;
      a.busy += p.totalCount - p.idleCount;
      a.maxWaiting = Math.max(a.maxWaiting, p.waitingCount);
      poolAcc.set(name, a);
    }
  }, 20).unref();
  process.on("SIGUSR2", () => {
    const steps = Object.fromEntries([...acc].map(([k, v]) => [k, { n: v.n, avg: +(v.sum / v.n).toFixed(1), max: +v.max.toFixed(0) }]));
    const pls = Object.fromEntries(
      [...poolAcc].map(([k, v]) => [k, { waiting: +(v.waiting / v.n).toFixed(2), busy: +(v.busy / v.n).toFixed(2), maxWaiting: v.maxWaiting }]),
    );
    process.stderr.write(`PROBE ${JSON.stringify({ steps, pools: pls })}\n`);
    acc.clear();
    poolAcc.clear();
  });
}
