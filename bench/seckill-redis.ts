/**
 * Redis's own CPU per seckill buy script call, OK against SOLD_OUT (the storm's answers are 40 % OK,
 * the steady `seckillBuy` scenario's about 4 %): a private redis-server (no persistence) on a free
 * port, promotion's own buy (SeckillBuying: the real keys and buySeckill-shard.lua), 50 calls in
 * flight, the server's CPU read from /proc. Redis shares the cores with the gateway and promotion,
 * so what it spends per attempt is what they cannot.
 *
 *   npx tsx bench/seckill-redis.ts [--stock 2000] [--attempts 5000] [--port 6399]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { SeckillBuying } from "../subgraphs/promotion/src/services/seckill-buying.ts";
import { SeckillStore, type SeckillDeps } from "../subgraphs/promotion/src/services/seckill-store.ts";
import { cpuMs } from "./lib/cpu.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => Number(args[args.indexOf(`--${name}`) + 1] || d) || d;
const stock = opt("stock", 2000);
const attempts = opt("attempts", 5000);
const port = opt("port", 6399);
const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 300));
const redis = new Redis({ port, enableAutoPipelining: true });
try {
  // the promotion's own buy (one script call on the buyer's home shard), on a store that knows the item:
  // nothing else of the subgraph's dependencies is reached with one shard (no HOLD, no database read)
  const store = new SeckillStore({ redis, prefix: "bench", idempotencyTtlSeconds: 86400 } as unknown as SeckillDeps);
  const buying = new SeckillBuying(store);
  const session = randomUUID();
  const sku = randomUUID();
  const ref = store.remember({ sessionId: session, skuId: sku, slot: 1, shards: 1 });
  const k = store.keys(ref, 0);
  const now = Date.now();
  await redis.hset(k.meta, {
    status: "ONLINE",
    startsMs: now - 1000,
    endsMs: now + 3600_000,
    limit: stock,
    price: "1.00",
    currency: "CNY",
    shards: 1,
  });
  await redis.set(k.stock, stock);
  const buyers = Array.from({ length: 200 }, () => randomUUID());
  const buy = async (i: number) => [(await buying.buy(buyers[i % buyers.length]!, session, sku, 1, randomUUID())).code];
  await buy(0); // loads the script (EVAL once)
  await redis.set(k.stock, stock);
  const run = async (n: number) => {
    const codes = new Map<string, number>();
    const before = cpuMs(server.pid!);
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < n) {
          const [code] = await buy(next++);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    return { ms: cpuMs(server.pid!) - before, codes };
  };
  const ok = await run(stock);
  const sold = await run(attempts - stock);
  const per = (r: { ms: number }, n: number) => ((r.ms / n) * 1000).toFixed(0);
  console.log(
    `redis-server CPU per buy script call: OK ${per(ok, stock)} µs (${[...ok.codes].join(" ")}), SOLD_OUT ${per(sold, attempts - stock)} µs (${[...sold.codes].join(" ")})`,
  );
  console.log(`per attempt: storm mix (${stock} OK of ${attempts}) ${(((ok.ms + sold.ms) / attempts) * 1000).toFixed(0)} µs`);
} finally {
  redis.disconnect();
  server.kill("SIGTERM");
}
