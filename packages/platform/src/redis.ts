/**
 * Redis helpers: connections, key naming and Lua scripts.
 *
 * Keys: `<prefix>:{<domain>}:<parts…>` — one prefix per deployment (random in tests) and a hash tag
 * per domain so that a domain's keys share one Redis Cluster slot and its Lua scripts may touch them
 * together.
 */
import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import { defined } from "./errors.ts";
import { bound, redisCommands } from "./metrics.ts";

export { Redis };

const commandCounter = bound(redisCommands);

/** Counts every command a connection sends (mg_redis_commands_total{command}). */
function counted(r: Redis): Redis {
  const send = r.sendCommand;
  r.sendCommand = function (this: Redis, command, stream) {
    commandCounter(command.name).inc();
    return send.call(this, command, stream);
  } as typeof r.sendCommand;
  return r;
}

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return counted(new Redis(url, { lazyConnect: false, enableAutoPipelining: true, ...options }));
}

/** A connection fit for BullMQ workers and blocking commands. */
export function createBlockingRedis(url: string): Redis {
  return counted(new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: false }));
}

export type KeyFn = (...parts: Array<string | number>) => string;

/** Builds the key function of one domain: `keyFor("mg","member")("session", sid)` → `mg:{member}:session:<sid>`. */
export function keyFor(prefix: string, domain: string): KeyFn {
  return (...parts) => `${prefix}:{${domain}}:${parts.join(":")}`;
}

/**
 * Registers a Lua script file as a command on the connection (ioredis runs it with EVALSHA and
 * falls back to EVAL once when the script cache is empty). The file's header names KEYS and ARGV.
 * `numberOfKeys` undefined: each call passes the key count as its first argument.
 */
export function defineLua<Args extends Array<string | number>, R = unknown>(
  redis: Redis,
  name: string,
  file: URL | string,
  numberOfKeys: number | undefined,
): (...args: Args) => Promise<R> {
  const lua = readFileSync(file, "utf8");
  // defineCommand adds the command as a method of that name, which ioredis's types cannot know
  const commands = redis as unknown as Record<string, ((...args: Args) => Promise<unknown>) | undefined>;
  if (!commands[name]) redis.defineCommand(name, { numberOfKeys, lua });
  return (...args: Args) => defined(commands[name], `Lua command ${name}`).apply(redis, args) as Promise<R>;
}

/**
 * The one release of a Redis lock (a key set with `SET key token NX PX ttl`): deletes the key only
 * while it still holds `token`, so a holder whose lock expired cannot free the next holder's.
 * Resolves 1 when released, 0 when the lock was gone or someone else's.
 */
export function lockReleaser(redis: Redis): (key: string, token: string) => Promise<number> {
  return defineLua<[string, string], number>(redis, "releaseLock", new URL("./lua/releaseLock-lock.lua", import.meta.url), 1);
}

/** Deletes every key under a prefix (tests clean up their random prefix with it). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) n += await redis.unlink(...keys);
  } while (cursor !== "0");
  return n;
}
