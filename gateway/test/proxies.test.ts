/** Rate limits believe X-Forwarded-For only from TRUSTED_PROXIES. */
import type http from "node:http";
import { createTestRedis, type TestRedis } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientIp, parseTrustedProxies } from "../src/client-ip.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { gatewaySettings } from "../src/settings.ts";
import { gql, startFederation, testConfig, type TestFederation } from "./helpers.ts";

const req = (remoteAddress: string, xff?: string) =>
  ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { "x-forwarded-for": xff } }) as unknown as http.IncomingMessage;

describe("the client's address", () => {
  const behind = clientIp(parseTrustedProxies("10.0.0.0/8, 192.168.1.7, fd00::/8"));

  it("ignores X-Forwarded-For from anyone but a trusted proxy", () => {
    expect(clientIp(parseTrustedProxies(undefined))(req("127.0.0.1", "203.0.113.9"))).toBe("127.0.0.1");
    expect(behind(req("198.51.100.4", "203.0.113.9"))).toBe("198.51.100.4");
    expect(behind(req("::ffff:198.51.100.4", "203.0.113.9"))).toBe("198.51.100.4");
  });

  it("takes the right-most address a trusted proxy did not add; what the client wrote further left is ignored", () => {
    expect(behind(req("10.1.2.3", "203.0.113.9"))).toBe("203.0.113.9");
    expect(behind(req("::ffff:10.1.2.3", "1.2.3.4, 203.0.113.9, 192.168.1.7"))).toBe("203.0.113.9");
    expect(behind(req("fd00::1", "2001:db8::5"))).toBe("2001:db8::5");
    expect(behind(req("10.1.2.3", "10.0.0.5, 10.0.0.6"))).toBe("10.0.0.5");
    expect(behind(req("10.1.2.3"))).toBe("10.1.2.3");
    expect(behind(req("10.1.2.3", "203.0.113.9, not-an-ip"))).toBe("10.1.2.3");
  });

  it("refuses a TRUSTED_PROXIES entry that is not an address or range, naming it", () => {
    expect(() => gatewaySettings({ TRUSTED_PROXIES: "10.0.0.0/8, proxy.local" })).toThrow(/TRUSTED_PROXIES: "proxy.local"/);
    expect(() => parseTrustedProxies("10.0.0.0/33")).toThrow(/TRUSTED_PROXIES/);
    expect(gatewaySettings({}).trustedProxies).toBe("");
  });
});

describe("rate limits behind a proxy", () => {
  let fed: TestFederation;
  let tr: TestRedis;
  let tr2: TestRedis;
  let trusting: RunningGateway;
  let direct: RunningGateway;
  beforeAll(async () => {
    fed = await startFederation();
    tr = createTestRedis();
    tr2 = createTestRedis();
    const common = { port: 0, host: "127.0.0.1", supergraphSdl: fed.supergraphSdl, manifest: { operations: [] } };
    trusting = await createGateway({
      ...common,
      config: testConfig(fed, tr.prefix, { RATE_LIMIT_PER_MINUTE: "3" }),
      trustedProxies: "127.0.0.1, ::1",
    });
    direct = await createGateway({ ...common, config: testConfig(fed, tr2.prefix, { RATE_LIMIT_PER_MINUTE: "3" }) });
  });
  afterAll(async () => {
    await trusting?.stop();
    await direct?.stop();
    await fed?.stop();
    await tr?.cleanup();
    await tr2?.cleanup();
  });

  const statuses = async (url: string, xffs: string[]) => {
    const out: number[] = [];
    for (const xff of xffs) out.push((await gql(url, "{ whoami { kind } }", { headers: { "x-forwarded-for": xff } })).status);
    return out;
  };

  it("from a trusted proxy, each forwarded client has its own limit, and a spoofed left part does not escape it", async () => {
    expect(await statuses(trusting.url, ["203.0.113.1", "203.0.113.1", "9.9.9.9, 203.0.113.1", "8.8.8.8, 203.0.113.1"])).toEqual([
      200, 200, 200, 429,
    ]);
    expect(await statuses(trusting.url, ["203.0.113.2", "203.0.113.2"])).toEqual([200, 200]);
  });

  it("from an untrusted peer, X-Forwarded-For is ignored: a client cannot pick a fresh address per request", async () => {
    expect(await statuses(direct.url, ["203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14"])).toEqual([200, 200, 200, 429]);
  });
});
