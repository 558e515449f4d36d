/**
 * Redis's own CPU per red-envelope rain grab (`grabEnvelope-rain.lua`), on a private redis-server
 * (a free port, no persistence, stopped afterwards): a rain of `--shares` shares over `--shards`
 * share lists is grabbed by distinct members until sold out (plus 5 % SOLD_OUT answers), and Redis's
 * `cmdstat_evalsha` gives the microseconds per call. Decides whether one rain needs more than one
 * Redis Cluster node (decision 0033: it does not — one node's grabs/s against the app tier's CPU per
 * grab). `npx tsx bench/rain-grab-redis.ts [--shares 100000] [--shards 16]`
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { waitFor } from "../packages/platform/src/testing.ts";
import { freePort } from "../scripts/stack.ts";

const { values } = parseArgs({ options: { shares: { type: "string", default: "100000" }, shards: { type: "string", default: "16" } } });
const shares = Number(values.shares);
const shards = Number(values.shards);
const port = await freePort();
const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
const redis = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 100 });
redis.on("error", () => undefined); // refused until the server listens
try {
  await waitFor(() => redis.status === "ready", "the private redis-server");
  const lua = readFileSync(path.join(import.meta.dirname, "../subgraphs/lottery/src/lua/grabEnvelope-rain.lua"), "utf8");
  const sha = String(await redis.script("LOAD", lua));
  const meta = "bench:lottery:{rain:r}";
  const lists = Array.from({ length: shards }, (_, i) => `${meta}:shard:${i}`);
  await redis.hset(meta, "status", "ONLINE", "startsAt", 0, "endsAt", Date.now() + 3_600_000, "remaining", shares, "currency", "CNY");
  for (let i = 0; i < shards; i++) {
    const mine = Array.from({ length: Math.ceil(shares / shards) }, (_, j) => j * shards + i).filter((s) => s < shares);
    if (mine.length) await redis.rpush(lists[i]!, ...mine.map((s) => 100 + (s % 97)));
  }
  await redis.config("RESETSTAT");
  const attempts = Math.round(shares * 1.05);
  for (let b = 0; b < attempts; b += 1000) {
    const p = redis.pipeline();
    for (let m = b; m < Math.min(attempts, b + 1000); m++)
      p.evalsha(sha, 3 + shards, meta, `${meta}:grabs`, `${meta}:stream`, ...lists, `m${m}`, Date.now(), m % shards, "r");
    await p.exec();
  }
  const stats = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(await redis.info("commandstats"));
  const perCall = Number(stats?.[3]);
  console.log(
    `${stats?.[1]} grabs (${shares} shares over ${shards} lists, then SOLD_OUT): Redis ${perCall} µs CPU per grab → ` +
      `one node ≈ ${Math.round(1e6 / perCall).toLocaleString("en")} grabs/s; left ${await redis.hget(meta, "remaining")}, stream ${await redis.xlen(`${meta}:stream`)}`,
  );
} finally {
  redis.disconnect();
  server.kill();
}
