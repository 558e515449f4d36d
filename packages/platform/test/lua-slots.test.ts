/**
 * Cross-slot mistakes fail on one Redis server too (decision 0033): every Lua script of the
 * repository starts with `#!lua` (Redis then refuses an undeclared key of another slot on a cluster),
 * and defineLua refuses a call whose declared keys lie in different slots before it is sent.
 * The real cluster runs of the vitest project `redis-cluster` prove the rest.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis, defineLua, entityKeyFor, keyFor } from "../src/redis.ts";
import { createTestRedis, REPO_ROOT } from "../src/testing.ts";

const t = createTestRedis();
const redis = createRedis(t.url);
const dir = mkdtempSync(path.join(os.tmpdir(), "lua-slots-"));
afterAll(async () => {
  await t.cleanup();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".")) return [];
    const p = path.join(dir, e.name);
    return e.isDirectory() ? luaFiles(p) : e.name.endsWith(".lua") ? [p] : [];
  });
}

describe("Lua scripts and Redis Cluster slots", () => {
  it("every Lua script starts with #!lua", () => {
    const files = ["packages", "gateway", "subgraphs"].flatMap((d) => luaFiles(path.join(REPO_ROOT, d)));
    expect(files.length).toBeGreaterThan(20);
    const without = files.filter((f) => !readFileSync(f, "utf8").startsWith("#!lua\n")).map((f) => path.relative(REPO_ROOT, f));
    expect(without).toEqual([]);
  });

  it("defineLua refuses declared keys of two slots, with a fixed or a per-call key count; one tag passes", async () => {
    const file = new URL("../src/lua/releaseLock-lock.lua", import.meta.url);
    const fixed = defineLua<[string, string, string], number>(redis, "slotTestFixed", file, 2);
    const perCall = defineLua<Array<string | number>, number>(redis, "slotTestPerCall", file, undefined);
    const a = entityKeyFor(t.prefix, "test", "cart", "m1");
    const b = entityKeyFor(t.prefix, "test", "cart", "m2");
    await expect(fixed(a("x"), b("x"), "token")).rejects.toThrow(/different Redis Cluster slots/);
    await expect(perCall(2, a("x"), b("x"), "token")).rejects.toThrow(/different Redis Cluster slots/);
    expect(await fixed(a("x"), a("y"), "token")).toBe(0);
    expect(await perCall(2, keyFor(t.prefix, "test")("x"), keyFor(t.prefix, "test")("y"), "token")).toBe(0);
  });

  it("a script made while an auto-pipeline is open, and called in that tick, runs — first as EVAL (never loaded), then as EVALSHA", async () => {
    // with ioredis's defineCommand the open pipeline lacked the new command: the call failed and the
    // pipeline's reply, one short, threw "results[i] is not iterable" outside any promise (CI, 30 November)
    const file = path.join(dir, "late.lua");
    writeFileSync(file, `#!lua\n-- ${randomUUID()}: a text this server has never loaded\nreturn redis.call('INCR', KEYS[1])\n`);
    const k = keyFor(t.prefix, "test")("late");
    const before = redis.incr(k); // opens the auto-pipeline of this tick
    const late = defineLua<[string], number>(redis, "slotTestLate", file, 1);
    const [n1, n2, n3] = await Promise.all([before, late(k), late(k)]);
    expect([n1, n2, n3].sort()).toEqual([1, 2, 3]);
    expect(await late(k)).toBe(4);
    expect(await redis.get(k)).toBe("4");
  });
});
