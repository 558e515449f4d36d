import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../src/circuit-breaker.ts";
import { gatewaySettings } from "../src/settings.ts";

describe("gateway settings", () => {
  it("has working defaults and reads the environment", () => {
    expect(gatewaySettings({})).toEqual({
      subgraphTimeoutMs: 10_000,
      circuit: { failureThreshold: 5, cooldownMs: 10_000 },
      sessionCacheMs: 1000,
      perClientPerMinute: undefined,
      subscriptionBufferSize: 100,
      responseCache: true,
      singleFetch: true,
      subgraphBatch: true,
      trustedProxies: "",
      liveLimits: {
        maxConnections: 10_000,
        connectionsPerIp: 50,
        connectionsPerCaller: 5,
        subscriptionsPerConnection: 10,
        initTimeoutMs: 3_000,
        maxMessageBytes: 262_144,
        eventConcurrency: 32,
      },
    });
    expect(gatewaySettings({ GATEWAY_WS_CONNECTIONS_PER_CALLER: "3", GATEWAY_WS_INIT_TIMEOUT_MS: "1500" }).liveLimits).toMatchObject({
      connectionsPerCaller: 3,
      initTimeoutMs: 1500,
    });
    expect(gatewaySettings({ TRUSTED_PROXIES: "10.0.0.0/8" })).toMatchObject({ trustedProxies: "10.0.0.0/8" });
    expect(gatewaySettings({ GATEWAY_RESPONSE_CACHE: "off" })).toMatchObject({ responseCache: false });
    expect(gatewaySettings({ GATEWAY_SINGLE_FETCH: "off" })).toMatchObject({ singleFetch: false });
    expect(gatewaySettings({ GATEWAY_SUBGRAPH_BATCH: "off" })).toMatchObject({ subgraphBatch: false });
    expect(gatewaySettings({ GATEWAY_SUBGRAPH_TIMEOUT_MS: "2500", GATEWAY_CLIENT_RATE_LIMIT_PER_MINUTE: "90" })).toMatchObject({
      subgraphTimeoutMs: 2500,
      perClientPerMinute: 90,
    });
  });

  it("refuses bad values with a readable error", () => {
    expect(() => gatewaySettings({ GATEWAY_SESSION_CACHE_MS: "60000" })).toThrow(/GATEWAY_SESSION_CACHE_MS/);
    expect(() => gatewaySettings({ GATEWAY_RESPONSE_CACHE: "maybe" })).toThrow(/GATEWAY_RESPONSE_CACHE/);
    expect(() => gatewaySettings({ GATEWAY_WS_SUBSCRIPTIONS_PER_CONNECTION: "0" })).toThrow(/GATEWAY_WS_SUBSCRIPTIONS_PER_CONNECTION/);
  });
});

describe("circuit breaker", () => {
  it("opens after the threshold, lets one trial through when half-open, and closes on success", async () => {
    const b = new CircuitBreaker("x", { failureThreshold: 2, cooldownMs: 0 });
    const fail = () => Promise.reject(new Error("down"));
    await expect(b.run(fail)).rejects.toThrow("down");
    expect(b.state).toBe("closed");
    await expect(b.run(fail)).rejects.toThrow("down");
    // cooldown 0: the open circuit is immediately half-open; a single trial is admitted at a time
    let release!: () => void;
    const trial = b.run(() => new Promise<string>((r) => (release = () => r("ok"))));
    await expect(b.run(async () => "second")).rejects.toThrow(/circuit open/);
    release();
    await expect(trial).resolves.toBe("ok");
    expect(b.state).toBe("closed");
  });

  it("counts results judged as failures (HTTP 5xx) and reopens when the trial fails", async () => {
    const b = new CircuitBreaker("y", { failureThreshold: 1, cooldownMs: 60_000 });
    await b.run(
      async () => 503,
      (s) => s >= 500,
    );
    expect(b.state).toBe("open");
    await expect(b.run(async () => 200)).rejects.toThrow(/circuit open/);
  });
});
