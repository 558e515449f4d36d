/**
 * Redis's own CPU per seckill buy script call, OK against SOLD_OUT (the storm's answers are 40 % OK,
 * the steady `seckillBuy` scenario's about 4 %): a private redis-server (no persistence) on a free
 * port, the real keys and script (subgraphs/promotion/src/lua/buySeckill-shard.lua), 50 calls in
 * flight, the server's CPU read from /proc. Redis shares the cores with the gateway and promotion,
 * so what it spends per attempt is what they cannot.
 *
 *   npx tsx bench/seckill-redis.ts [--stock 2000] [--attempts 5000] [--port 6399]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { homeShard, reservationId, shardKeys } from "../subgraphs/promotion/src/services/keys.ts";
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
  const lua = readFileSync(new URL("../subgraphs/promotion/src/lua/buySeckill-shard.lua", import.meta.url), "utf8");
  redis.defineCommand("buy", { numberOfKeys: 10, lua });
  const session = randomUUID();
  const sku = randomUUID();
  const k = shardKeys("bench", session, sku, 0);
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
  const buy = (i: number) => {
    const buyer = buyers[i % buyers.length]!;
    const uuid = randomUUID();
    const key = randomUUID();
    const b = redis as unknown as { buy: (...a: Array<string | number>) => Promise<[string, string]> };
    return b.buy(
      k.meta,
      k.stock,
      k.bought,
      k.idem(buyer, key),
      k.reservation(uuid),
      k.pending,
      k.open,
      k.holds,
      k.seq,
      k.stream,
      buyer,
      1,
      Date.now(),
      reservationId(1, homeShard(buyer, 1), uuid),
      86400,
      session,
      sku,
      0,
    );
  };
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
