/**
 * Redis helpers: connections (one Redis server or a Redis Cluster), key naming and Lua scripts.
 *
 * Connections: `createRedis(url)` takes either a plain `redis://` URL or the cluster form
 * `redis-cluster://[user:password@]host:port,host:port,…` that config.ts makes of REDIS_CLUSTER_NODES
 * (an ioredis Cluster then). Everything that opens Redis goes through it, so one setting switches the
 * whole deployment (decision 0033).
 *
 * Keys: `<prefix>:{<domain>}:<parts…>` — one prefix per deployment (random in tests) and a hash tag.
 * Small keys share their domain's tag; hot or large ones carry a tag of their own entity
 * (`entityKeyFor`: a member's session, cart or rate limit, a seckill stock shard, a rain), so a
 * cluster spreads them over its nodes. Every Lua script's keys share one slot; `defineLua` checks it
 * on every call, on one Redis server too, so a cross-slot mistake fails a test, not a cluster.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Cluster, Redis as IORedis, type ClusterOptions, type RedisOptions } from "ioredis";
import { defined } from "./errors.ts";
import { bound, redisCommands } from "./metrics.ts";
import { parseRedisClusterUrl } from "./redis-url.ts";

export { parseRedisClusterUrl, redisClusterUrl } from "./redis-url.ts";

/** ioredis's own slot function (CRC16 of the key's hash tag, or of the whole key); the package ships no types. */
const calculateSlot = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number;

/** A connection: one Redis server or a Redis Cluster (their commands are the same). */
export type Redis = IORedis | Cluster;

const commandCounter = bound(redisCommands);

/** Counts every command a connection sends (mg_redis_commands_total{command}). */
function counted<R extends Redis>(r: R): R {
  const send = r.sendCommand.bind(r) as (...args: unknown[]) => unknown;
  (r as { sendCommand: unknown }).sendCommand = (command: { name: string }, ...rest: unknown[]) => {
    commandCounter(command.name).inc();
    return send(command, ...rest);
  };
  return r;
}

/** An error of the connection or of the server (not of the caller's code): a cache may fall back to its source. */
export function isRedisError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? "";
  const msg = (e as { message?: string })?.message ?? "";
  return name === "ReplyError" || name === "MaxRetriesPerRequestError" || /redis|ECONNREFUSED|Connection is closed/i.test(msg);
}

export function isCluster(redis: Redis): redis is Cluster {
  return redis instanceof Cluster;
}

function connect(url: string, options: RedisOptions): Redis {
  const cluster = parseRedisClusterUrl(url);
  if (!cluster) return new IORedis(url, options);
  const { enableAutoPipelining, enableReadyCheck, lazyConnect, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining,
    // ioredis auto-pipelines a cluster command by the slot of its FIRST argument: these name a
    // subcommand or option first and their key later (the stream consumers', decision 0032), so
    // batched together they would go to one node and fail with MOVED — sent on their own instead
    autoPipeliningIgnoredCommands: ["xgroup", "xreadgroup", "xread", "xinfo"],
    enableReadyCheck,
    lazyConnect,
    // reads go to the masters: replicas lag, and every read here is part of a decision
    scaleReads: "master",
    redisOptions: { ...perNode, username: cluster.username, password: cluster.password, ...(cluster.tls ? { tls: {} } : {}) },
  };
  return new Cluster(cluster.nodes, clusterOptions);
}

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return counted(connect(url, { lazyConnect: false, enableAutoPipelining: true, ...options }));
}

/** A connection fit for BullMQ workers and blocking commands. */
export function createBlockingRedis(url: string): Redis {
  return counted(connect(url, { maxRetriesPerRequest: null, enableReadyCheck: false }));
}

export type KeyFn = (...parts: Array<string | number>) => string;

/** Builds the key function of one domain: `keyFor("mg","member")("sms", phone)` → `mg:{member}:sms:<phone>`. */
export function keyFor(prefix: string, domain: string): KeyFn {
  return (...parts) => `${prefix}:{${domain}}:${parts.join(":")}`;
}

/**
 * The keys of one entity of a domain, under a hash tag of their own:
 * `entityKeyFor("mg","cart","cart",memberId)("lines")` → `mg:cart:{cart:<memberId>}:lines`. Every key
 * of the entity shares one Redis Cluster slot (a script may touch them together); different entities
 * spread over the cluster.
 */
export function entityKeyFor(prefix: string, domain: string, ...entity: Array<string | number>): KeyFn {
  const base = `${prefix}:${domain}:{${entity.join(":")}}`;
  return (...parts) => (parts.length ? `${base}:${parts.join(":")}` : base);
}

/** The Redis Cluster slot of a key (CRC16 of its hash tag, or of the whole key without one). */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** The hash tag of a key as Redis Cluster reads it (between the first `{` and the next `}`, non-empty), or undefined. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf("{");
  if (open < 0) return undefined;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** Throws unless every key hashes to one slot (what a Redis Cluster requires of one script call). */
export function assertOneSlot(keys: readonly string[], what: string): void {
  if (keys.length < 2) return;
  // keys with one and the same hash tag share its slot (only the tag is hashed): no CRC16 per key on the hot path
  const tag = hashTag(defined(keys[0], "first key"));
  if (tag !== undefined && keys.every((k) => hashTag(k) === tag)) return;
  const first = slotOf(defined(keys[0], "first key"));
  for (const k of keys) {
    if (slotOf(k) !== first) throw new Error(`${what}: keys in different Redis Cluster slots (${keys.join(", ")}); give them one hash tag`);
  }
}

/**
 * A Lua script file as a function: each call is one EVALSHA (EVAL once when the server does not hold
 * the script yet: a new server, a cluster node that never ran it, or after SCRIPT FLUSH). The file's
 * header names KEYS and ARGV; its first line is `#!lua`, which makes Redis refuse a key of another slot
 * that the script reaches without declaring it (a cluster's rule, enforced by Redis 7 for scripts with a
 * shebang). `numberOfKeys` undefined: each call passes the key count as its first argument.
 * Every call checks that its keys share one slot (assertOneSlot), on a single server too.
 *
 * Plain EVALSHA, not ioredis's `defineCommand` (decision 0033): an auto-pipeline copies the defined
 * commands when it is opened, so a script defined while one was open (a helper made on first use, in
 * the tick of another command) was missing from it — the call failed, and the pipeline's answer, one
 * short, crashed the process ("results[i] is not iterable"). EVALSHA is a built-in every pipeline has,
 * and ioredis finds its keys by the key count, so a cluster's auto-pipeline groups it by its real key.
 */
export function defineLua<Args extends Array<string | number>, R = unknown>(
  redis: Redis,
  name: string,
  file: URL | string,
  numberOfKeys: number | undefined,
): (...args: Args) => Promise<R> {
  const lua = readFileSync(file, "utf8");
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (...args: Args) => {
    const keys = numberOfKeys === undefined ? args.slice(1, 1 + Number(args[0])) : args.slice(0, numberOfKeys);
    assertOneSlot(keys.map(String), `Lua command ${name}`);
    const counted = numberOfKeys === undefined ? args : [numberOfKeys, ...args];
    const [count, ...rest] = counted as [number | string, ...Array<string | number>];
    try {
      return (await redis.evalsha(sha, count, ...rest)) as R;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return (await redis.eval(lua, count, ...rest)) as R;
    }
  };
}

/**
 * The one release of a Redis lock (a key set with `SET key token NX PX ttl`): deletes the key only
 * while it still holds `token`, so a holder whose lock expired cannot free the next holder's.
 * Resolves 1 when released, 0 when the lock was gone or someone else's.
 */
export function lockReleaser(redis: Redis): (key: string, token: string) => Promise<number> {
  let release = releasers.get(redis);
  if (!release) {
    release = defineLua<[string, string], number>(redis, "releaseLock", new URL("./lua/releaseLock-lock.lua", import.meta.url), 1);
    releasers.set(redis, release);
  }
  return release;
}
/** One releaser per connection: sweeps ask for it on every run. */
const releasers = new WeakMap<Redis, (key: string, token: string) => Promise<number>>();

/** Resolves once the connection is ready (a cluster: its slots are known). */
export async function whenReady(redis: Redis): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", () => resolve());
    redis.once("end", () => reject(new Error("the Redis connection ended before it was ready")));
  });
}

/** The servers holding data: the masters of a cluster, or the one server. */
export async function dataNodes(redis: Redis): Promise<IORedis[]> {
  if (!isCluster(redis)) return [redis];
  await whenReady(redis);
  return redis.nodes("master");
}

/** Every key matching a glob pattern, on every node of a cluster (SCAN; for tests and maintenance, not request paths). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of await dataNodes(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
  }
  return found;
}

/** Deletes every key under a prefix (tests clean up their random prefix with it), on every node of a cluster. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  // one key a command (pipelined by the connection): the keys may lie in different slots
  const deleted = await Promise.all(keys.map((k) => redis.unlink(k)));
  return deleted.reduce((n, d) => n + d, 0);
}
