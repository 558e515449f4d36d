/**
 * The forwarded path's response cache (src/forward-cache.ts, decision 0045): what a subgraph's
 * `cache-control` lets it keep, for how long, and the bound on its memory. The scopes between callers
 * are tested through a running gateway in gateway.test.ts ("response cache").
 */
import { describe, expect, it } from "vitest";
import { cachePolicy, ForwardCache, privateKey, publicKey } from "../src/forward-cache.ts";

describe("cachePolicy", () => {
  it("reads max-age and scope as Apollo's cache-control plugin writes them; anything else is not cached", () => {
    expect(cachePolicy("max-age=30, public")).toEqual({ maxAge: 30, scope: "PUBLIC" });
    expect(cachePolicy("max-age=2, private")).toEqual({ maxAge: 2, scope: "PRIVATE" });
    expect(cachePolicy("max-age=5")).toEqual({ maxAge: 5, scope: "PUBLIC" });
    for (const h of ["no-store", "max-age=0, public", "public", "", null, undefined, "no-cache, max-age=30"])
      expect(cachePolicy(h), String(h)).toBeUndefined();
  });
});

describe("ForwardCache", () => {
  it("keeps an answer until its max-age, then forgets it", () => {
    const c = new ForwardCache();
    const k = publicKey("anonymous", '{"query":"{ x }"}');
    c.set(k, '{"data":{"x":1}}', "max-age=2, public", 2, 1_000);
    expect(c.get(k, 2_999)?.body).toBe('{"data":{"x":1}}');
    expect(c.get(k, 3_000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("keys keep kinds and sessions apart", () => {
    const request = '{"query":"{ x }"}';
    expect(
      new Set([publicKey("anonymous", request), publicKey("member", request), privateKey("s1", request), privateKey("s2", request)]).size,
    ).toBe(4);
  });

  it("stays within its bytes, the oldest entries leaving first", () => {
    const body = "x".repeat(1_000);
    const c = new ForwardCache(10_000); // about four entries of 2 kB each
    for (let i = 0; i < 10; i++) c.set(`k${i}`, body, "max-age=60", 60, 0);
    expect(c.size).toBeLessThanOrEqual(4);
    expect(c.get("k9", 1)?.body).toBe(body);
    expect(c.get("k0", 1)).toBeUndefined();
    // an answer larger than the whole cache is not kept (and evicts nothing)
    c.set("huge", "y".repeat(10_000), "max-age=60", 60, 0);
    expect(c.get("huge", 1)).toBeUndefined();
    expect(c.get("k9", 1)?.body).toBe(body);
  });
});
