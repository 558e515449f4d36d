/**
 * The service client's time-out is one deadline for the whole call (headers AND body), not one per
 * phase: a provider that answers its headers at once and then trickles its body, a chunk every
 * 100 ms — each pause far below the time-out — is cut off at the deadline. Real local HTTP servers.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceClient } from "../src/service-client.ts";

const secret = "service-client-test-secret-0123456789abcdef";

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url === "/fast") return res.end(JSON.stringify({ data: { ok: true } }));
      // /trickle: the JSON, one byte every 100 ms (about 2.5 s in all)
      const body = JSON.stringify({ data: { ok: "trickled" } });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t);
        res.write(body[i++]);
        if (i === body.length) {
          clearInterval(t);
          res.end();
        }
      }, 100);
      res.on("close", () => clearInterval(t));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("service client time-out", () => {
  it("answers a prompt provider", async () => {
    const client = createServiceClient({ url: `${base}/fast`, secret, service: "test", timeoutMs: 800 });
    await expect(client.request("{ ok }")).resolves.toEqual({ ok: true });
  });

  it("cuts a trickled body off at one total deadline, though no pause reaches it", async () => {
    const client = createServiceClient({ url: `${base}/trickle`, secret, service: "test", timeoutMs: 800 });
    const started = Date.now();
    const err = await client.request("{ ok }").catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
    expect(String((err as Error).message)).toContain("no complete answer within 800 ms");
    expect(took).toBeGreaterThanOrEqual(750);
    expect(took).toBeLessThan(2000); // the whole body takes ~2.5 s
  });

  it("gets a trickled body whole when the deadline allows it", async () => {
    const client = createServiceClient({ url: `${base}/trickle`, secret, service: "test", timeoutMs: 10_000 });
    await expect(client.request("{ ok }")).resolves.toEqual({ ok: "trickled" });
  });
});
