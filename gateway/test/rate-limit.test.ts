/**
 * useRateLimit's leases (decision 0037) against a real Redis: every hit is counted in Redis before it
 * is let through, one script call counts several hits while the window has room, leases shrink to
 * one hit near the limit (one instance refuses exactly at it), and several instances sharing a
 * counter never let more than the limit through.
 */
import { ANONYMOUS } from "@mallgraph/platform/auth";
import { createRedis } from "@mallgraph/platform/redis";
import { createTestRedis } from "@mallgraph/platform/testing";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { GatewayPlugin, RequestState } from "../src/plugins/types.ts";
import { rateLimitKey, useRateLimit } from "../src/plugins/useRateLimit.ts";

const t = createTestRedis();
const redis = createRedis(t.url);
afterAll(async () => {
  await t.cleanup();
  redis.disconnect();
});

const member = (id: string): RequestState => ({
  transport: "http",
  headers: {},
  ip: "10.0.0.1",
  identity: { ...ANONYMOUS, kind: "member", id },
  requestId: "r",
  method: "POST",
  responseHeaders: {},
});

/** Sends `n` requests of `id` through the plugins one after the other (round robin); the count let through. */
async function send(plugins: GatewayPlugin[], id: string, n: number): Promise<{ ok: number; refused: number }> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    try {
      await plugins[i % plugins.length]!.onRequest!(member(id));
      ok++;
    } catch (e) {
      expect((e as { extensions?: { code?: string } }).extensions?.code).toBe("RATE_LIMITED");
    }
  }
  return { ok, refused: n - ok };
}

const counter = async (id: string) => Number(await redis.get(rateLimitKey(t.prefix, `member:${id}`)));

describe("rate-limit leases", () => {
  it("one script call counts several hits while the window has room", async () => {
    const limit = useRateLimit({ redis, prefix: t.prefix, perMinute: 1000 });
    expect(await send([limit], "roomy", 20)).toEqual({ ok: 20, refused: 0 });
    // 16 counted by the first call, 16 more by the second: ahead of the 20 used, never behind
    expect(await counter("roomy")).toBe(32);
  });

  it("one instance refuses exactly at the limit: leases shrink to one hit near it", async () => {
    const limit = useRateLimit({ redis, prefix: t.prefix, perMinute: 40 });
    expect(await send([limit], "exact", 45)).toEqual({ ok: 40, refused: 5 });
    expect(await counter("exact")).toBe(40);
  });

  it("several instances together never let more than the limit through", async () => {
    const instances = Array.from({ length: 3 }, () => useRateLimit({ redis, prefix: t.prefix, perMinute: 200 }));
    const r = await send(instances, "shared", 260);
    expect(r.ok).toBeLessThanOrEqual(200);
    // refused early by at most what the other instances hold leased and unused
    expect(r.ok).toBeGreaterThan(200 - 2 * 16);
    expect(await counter("shared")).toBe(200);
  });

  it("maxLease 1 counts every request with its own call", async () => {
    const limit = useRateLimit({ redis, prefix: t.prefix, perMinute: 1000, maxLease: 1 });
    await send([limit], "single", 7);
    expect(await counter("single")).toBe(7);
  });

  it("parallel requests of one subject on one instance are all counted", async () => {
    const limit = useRateLimit({ redis, prefix: t.prefix, perMinute: 30 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => limit.onRequest!(member("burst"))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(30);
    expect(await counter("burst")).toBe(30);
  });

  it("a wall clock set back does not stretch a lease into the next window", async () => {
    const limit = useRateLimit({ redis, prefix: t.prefix, perMinute: 256, windowMs: 1000 });
    expect(await send([limit], "stepped", 1)).toEqual({ ok: 1, refused: 0 });
    expect(await counter("stepped")).toBe(16); // 15 leased, unused
    // the window ends in Redis
    while ((await redis.pttl(rateLimitKey(t.prefix, "member:stepped"))) > 0) await new Promise((r) => setTimeout(r, 50));
    // then the machine's clock is stepped back 10 s (NTP, a VM resumed): the old lease must not serve the new window
    const wall = Date.now.bind(Date);
    const clock = vi.spyOn(Date, "now").mockImplementation(() => wall() - 10_000);
    try {
      expect(await send([limit], "stepped", 15)).toEqual({ ok: 15, refused: 0 });
    } finally {
      clock.mockRestore();
    }
    // every hit let through in the new window was counted in it (before: none, served by the old lease)
    expect(await counter("stepped")).toBeGreaterThanOrEqual(15);
  });
});
