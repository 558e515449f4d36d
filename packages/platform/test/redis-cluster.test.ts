/**
 * The Redis Cluster mode (decision 0033), on the real local cluster of the vitest project
 * `redis-cluster` (three masters): REDIS_CLUSTER_NODES makes every connection a cluster client,
 * keys of different tags land on different nodes, and each kind of cross-slot mistake fails —
 * declared keys of two slots (refused by defineLua before Redis sees them, and by Redis itself),
 * an undeclared key of another slot reached from a `#!lua` script, and a BullMQ queue without a
 * hash-tagged prefix. Queues with the platform's prefix, stream groups, pub/sub and the test clean-up work.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { publishLiveEvent, eventChannel } from "../src/events.ts";
import { bullPrefix, closeQueueConnections, createQueue, createWorker, QueueName } from "../src/queue.ts";
import { createRedis, dataNodes, defineLua, entityKeyFor, isCluster, keyFor, scanKeys, slotOf, whenReady } from "../src/redis.ts";
import { createTestRedis, waitFor } from "../src/testing.ts";

const t = createTestRedis();
const redis = createRedis(t.url);
const dir = mkdtempSync(path.join(tmpdir(), "mg-lua-"));
afterAll(async () => {
  await closeQueueConnections();
  await t.cleanup();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function luaFile(name: string, body: string): string {
  const file = path.join(dir, `${name}.lua`);
  writeFileSync(file, body);
  return file;
}

/** Two entity tags whose slots are served by different masters. */
async function tagsOnTwoNodes(): Promise<[string, string]> {
  const first = entityKeyFor(t.prefix, "test", "e", "a")();
  const slots = (await redis.call("CLUSTER", "SLOTS")) as Array<[number, number, [string, number]]>;
  const portOf = (key: string) => {
    const s = slotOf(key);
    return slots.find(([from, to]) => s >= from && s <= to)?.[2][1];
  };
  for (let i = 0; i < 100; i++) {
    const other = entityKeyFor(t.prefix, "test", "e", `b${i}`)();
    if (portOf(other) !== portOf(first)) return [first, other];
  }
  throw new Error("no two tags on different nodes");
}

describe("Redis Cluster mode", () => {
  it("REDIS_CLUSTER_NODES makes the config's REDIS_URL a cluster URL and createRedis a cluster client of every master", async () => {
    const nodes = process.env.REDIS_CLUSTER_NODES ?? "";
    expect(nodes.split(",")).toHaveLength(3);
    const config = loadConfig({ REDIS_CLUSTER_NODES: nodes, REDIS_URL: "redis://:secret@127.0.0.1:6379" });
    expect(config.REDIS_URL).toBe(`redis-cluster://:secret@${nodes}`);
    expect(isCluster(redis)).toBe(true);
    await whenReady(redis);
    expect(await dataNodes(redis)).toHaveLength(3);
  });

  it("keys of different tags spread over the masters; scanKeys and the clean-up find them on every node", async () => {
    const keys = Array.from({ length: 60 }, (_, i) => entityKeyFor(t.prefix, "spread", "member", i)("cart"));
    await Promise.all(keys.map((k) => redis.set(k, "1")));
    const perNode = await Promise.all((await dataNodes(redis)).map((n) => n.dbsize()));
    expect(perNode.filter((n) => n > 0)).toHaveLength(3);
    expect((await scanKeys(redis, `${t.prefix}:spread:*`)).sort()).toEqual([...keys].sort());
  });

  it("defineLua refuses declared keys of two slots before Redis sees them; Redis refuses them too (CROSSSLOT)", async () => {
    const [a, b] = await tagsOnTwoNodes();
    const twoKeys = defineLua<[string, string], number>(redis, "clusterTestTwoKeys", luaFile("two", "#!lua\nreturn #KEYS\n"), 2);
    await expect(twoKeys(a, b)).rejects.toThrow(/different Redis Cluster slots/);
    // the same keys under one entity tag are fine
    const k = entityKeyFor(t.prefix, "test", "one");
    expect(await twoKeys(k("x"), k("y"))).toBe(2);
    // and Redis itself: EVAL with declared keys of two slots
    await expect(redis.eval("return 1", 2, a, b)).rejects.toThrow(/CROSSSLOT|MOVED|slot/i);
  });

  it("a #!lua script reaching an undeclared key of another slot fails on the cluster", async () => {
    const [a, b] = await tagsOnTwoNodes();
    const sneaky = defineLua<[string, string], string>(
      redis,
      "clusterTestSneaky",
      luaFile("sneaky", "#!lua\nredis.call('SET', KEYS[1], 1)\nreturn redis.call('GET', ARGV[1])\n"),
      1,
    );
    await expect(sneaky(a, b)).rejects.toThrow(/non local key|same slot/);
    // the same script reaching a key of its own slot works
    const k = entityKeyFor(t.prefix, "test", "mine");
    await redis.set(k("other"), "v");
    expect(await sneaky(k("first"), k("other"))).toBe("v");
  });

  it("BullMQ: queues with the hash-tagged prefix run jobs on the cluster; an untagged prefix is refused", async () => {
    const ctx = { redisUrl: t.url, redisPrefix: t.prefix };
    const seen: string[] = [];
    const worker = createWorker<{ n: string }>(ctx, QueueName.messages, async (job) => {
      seen.push(job.data.n);
    });
    const queue = createQueue<{ n: string }>(ctx, QueueName.messages);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(ids.map((n) => queue.add("send", { n }, { jobId: n })));
    await queue.add("send", { n: ids[0] ?? "" }, { jobId: ids[0] }); // a duplicate id: not run again
    await waitFor(() => seen.length >= 20, "20 jobs");
    expect(seen.sort()).toEqual([...ids].sort());
    await worker.close();
    await queue.close();
    expect(bullPrefix(t.prefix, QueueName.messages)).toBe(`${t.prefix}:bull:{${QueueName.messages}}`);

    const untagged = new Queue("untagged", { connection: createRedis(t.url, { maxRetriesPerRequest: null }), prefix: `${t.prefix}:bull` });
    try {
      await expect(untagged.add("x", {})).rejects.toThrow(/CROSSSLOT|slot/i);
    } finally {
      await untagged.close();
    }
  });

  it("a script whose key count comes with each call runs on every node, many calls at once (auto-pipelined connection)", async () => {
    // ioredis grouped a script made with defineCommand by its first argument — here the key count, not a
    // key: calls whose key lived on another node than slot("2") failed with "All keys in the pipeline
    // should belong to the same slots allocation group". defineLua's EVALSHA is grouped by its real key.
    const counted = defineLua<Array<string | number>, number>(
      redis,
      "clusterTestDynamicKeys",
      luaFile("dynamic", "#!lua\nfor i = 1, #KEYS do redis.call('INCR', KEYS[i]) end\nreturn #KEYS\n"),
      undefined,
    );
    const entities = Array.from({ length: 30 }, (_, i) => entityKeyFor(t.prefix, "test", "dyn", i));
    const answers = await Promise.all(entities.map((k) => counted(2, k("a"), k("b"))));
    expect(answers).toEqual(entities.map(() => 2));
    const slots = new Set(entities.map((k) => slotOf(k("a"))));
    expect(slots.size).toBeGreaterThan(1);
    expect(await Promise.all(entities.map((k) => redis.get(k("b"))))).toEqual(entities.map(() => "1"));
  });

  it("commands whose key is not their first argument (XGROUP, XINFO) reach the key's node", async () => {
    const streams = Array.from({ length: 12 }, (_, i) => entityKeyFor(t.prefix, "test", "stream", i)("s"));
    for (const s of streams) {
      await redis.xadd(s, "*", "n", "1");
      await redis.xgroup("CREATE", s, "g", "0");
      expect(await redis.xreadgroup("GROUP", "g", "c", "COUNT", 10, "STREAMS", s, ">")).toHaveLength(1);
      expect(await redis.xinfo("CONSUMERS", s, "g")).toHaveLength(1);
    }
  });

  it("live events: a PUBLISH on one node reaches a subscriber connected through another", async () => {
    const sub = createRedis(t.url, { enableAutoPipelining: false });
    try {
      const got: string[] = [];
      sub.on("message", (_channel: string, message: string) => got.push(message));
      await whenReady(sub);
      await sub.subscribe(eventChannel(t.prefix, "clusterTest"));
      await publishLiveEvent(redis, t.prefix, "clusterTest", { eventId: "e1", keys: {} });
      await waitFor(() => got.length === 1, "the event");
      expect(JSON.parse(got[0] ?? "{}")).toMatchObject({ eventId: "e1" });
    } finally {
      sub.disconnect();
    }
  });

  it("a domain's small keys keep the domain's tag (one slot); an entity's keys share the entity's slot", () => {
    expect(slotOf(keyFor("mg", "member")("partnerKey", "a"))).toBe(slotOf(keyFor("mg", "member")("event", "session", "b")));
    const cart = entityKeyFor("mg", "cart", "cart", "m1");
    expect(slotOf(cart())).toBe(slotOf(cart("x")));
    expect(slotOf(cart())).not.toBe(slotOf(entityKeyFor("mg", "cart", "cart", "m2")()));
  });
});
