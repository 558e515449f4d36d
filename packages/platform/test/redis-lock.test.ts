/** The one lock release (redis.ts lockReleaser, lua/releaseLock-lock.lua) on the real Redis. */
import { afterAll, describe, expect, it } from "vitest";
import { createRedis, keyFor, lockReleaser } from "../src/redis.ts";
import { createTestRedis } from "../src/testing.ts";

const t = createTestRedis();
const redis = createRedis(t.url);
afterAll(async () => {
  await t.cleanup();
  redis.disconnect();
});

describe("lock release", () => {
  it("deletes the lock only for its holder's token: a stale holder cannot free the next holder's lock", async () => {
    const release = lockReleaser(redis);
    const key = keyFor(t.prefix, "test")("lock", "a");
    await redis.set(key, "first", "PX", 20, "NX");
    await new Promise((r) => setTimeout(r, 40)); // first's lock expires; second takes it
    expect(await redis.set(key, "second", "PX", 10_000, "NX")).toBe("OK");
    expect(await release(key, "first")).toBe(0);
    expect(await redis.get(key)).toBe("second");
    expect(await release(key, "second")).toBe(1);
    expect(await redis.exists(key)).toBe(0);
    expect(await release(key, "second")).toBe(0);
  });

  it("of many parallel contenders exactly one holds the lock at a time, and each release frees only its own", async () => {
    const release = lockReleaser(redis);
    const key = keyFor(t.prefix, "test")("lock", "b");
    let inside = 0;
    let most = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const token = `holder-${i}`;
        while ((await redis.set(key, token, "PX", 5_000, "NX")) !== "OK") await new Promise((r) => setTimeout(r, 2));
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 1));
        inside--;
        done++;
        expect(await release(key, `holder-${i + 100}`)).toBe(0);
        expect(await release(key, token)).toBe(1);
      }),
    );
    expect([done, most]).toEqual([40, 1]);
  });
});
