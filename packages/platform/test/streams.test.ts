/**
 * The stream consumer (decision 0032) against real Redis (and, in the redis-cluster project, a real
 * cluster: two streams of two slots): every entry done exactly once in the end though handlers fail,
 * a consumer that holds entries and never finishes (a killed process) is taken over after
 * `claimIdleMs`, a stop finishes the round in hand, and a stream nobody wrote is not created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logger } from "../src/log.ts";
import { createRedis, type Redis } from "../src/redis.ts";
import { StreamConsumer, streamBacklog, type StreamEntry } from "../src/streams.ts";
import { createTestRedis, waitFor, type TestRedis } from "../src/testing.ts";

describe("StreamConsumer", () => {
  let tr: TestRedis;
  let redis: Redis;
  beforeAll(() => {
    tr = createTestRedis();
    redis = createRedis(tr.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await tr?.cleanup();
  });
  const log = logger("streams-test");
  const streamsOf = (name: string) => [`${tr.prefix}:test:{${name}-a}:stream`, `${tr.prefix}:test:{${name}-b}:stream`];
  const fill = async (streams: string[], perStream: number) => {
    for (const s of streams) for (let i = 0; i < perStream; i++) await redis.xadd(s, "*", "n", `${s}#${i}`);
  };

  it("every entry is done exactly once though handlers fail now and then; a stop finishes the round in hand", async () => {
    const streams = streamsOf("fail");
    await fill(streams, 150);
    const done = new Map<string, number>();
    const seen = new Map<string, number>();
    const consumer = new StreamConsumer({
      redis,
      group: "g",
      streams: () => streams,
      log,
      count: 40,
      claimIdleMs: 100,
      claimEveryMs: 50,
      intervalMs: 10,
      handle: async (_s: string, entries: StreamEntry[]) => {
        const marker = `${streams[0]}#33`;
        if (entries.some((e) => e.fields.n === marker) && !seen.has(marker)) {
          seen.set(marker, 0);
          throw new Error("a whole batch fails once"); // nothing of it is done: all of it comes again
        }
        const ok: string[] = [];
        for (const e of entries) {
          const n = e.fields.n ?? "";
          const times = (seen.get(n) ?? 0) + 1;
          seen.set(n, times);
          if (times === 1 && n.endsWith("7")) continue; // fails on its first delivery: comes again
          done.set(n, (done.get(n) ?? 0) + 1);
          ok.push(e.id);
        }
        return ok;
      },
    });
    consumer.start();
    await waitFor(async () => (await streamBacklog(redis, streams)) === 0, "every entry done", 30_000);
    await consumer.stop();
    expect(done.size).toBe(300);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    expect([...seen.entries()].filter(([k, n]) => k.endsWith("7") && n < 2)).toEqual([]); // each came back after failing
    expect(await redis.xpending(streams[0]!, "g")).toEqual([0, null, null, null]);
  });

  it("entries held by a consumer that never finishes (a killed process) are taken over after claimIdleMs", async () => {
    const streams = streamsOf("dead");
    await fill(streams, 20);
    let release!: () => void;
    const never = new Promise<void>((r) => (release = r));
    const dead = new StreamConsumer({
      redis,
      group: "g",
      streams: () => streams,
      log,
      consumer: "dead",
      intervalMs: 10,
      handle: async () => {
        await never;
        return [];
      },
    });
    dead.start();
    const held = async (s: string) => Number(((await redis.xpending(s, "g").catch(() => [0])) as [number])[0]); // NOGROUP until it reads
    await waitFor(async () => (await held(streams[0]!)) === 20 && (await held(streams[1]!)) === 20, "the dead one holds the entries");
    const handled: string[] = [];
    const live = new StreamConsumer({
      redis,
      group: "g",
      streams: () => streams,
      log,
      consumer: "live",
      claimIdleMs: 300,
      claimEveryMs: 50,
      intervalMs: 10,
      handle: async (_s, entries) => {
        handled.push(...entries.map((e) => e.fields.n ?? ""));
        return entries.map((e) => e.id);
      },
    });
    live.start();
    try {
      await waitFor(async () => (await streamBacklog(redis, streams)) === 0, "taken over and done", 30_000);
      expect(handled.length).toBe(40);
      expect(new Set(handled).size).toBe(40);
    } finally {
      release();
      await dead.stop();
      await live.stop();
    }
  });

  it("creates no key for a stream nobody wrote", async () => {
    const [stream] = streamsOf("empty");
    const consumer = new StreamConsumer({ redis, group: "g", streams: () => [stream!], log, handle: async () => [] });
    expect(await consumer.round()).toEqual({ handled: 0, full: false });
    expect(await redis.exists(stream!)).toBe(0);
  });
});
