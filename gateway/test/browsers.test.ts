import { publishLiveEvent } from "@mallgraph/platform/events";
import { createTestRedis, productionEnv, type TestRedis, waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corsOrigins } from "../src/http/cors.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { launchChromium } from "./browser.ts";
import { createRedis, login, startFederation, testConfig, type TestFederation } from "./helpers.ts";

let fed: TestFederation;
let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
let gw: RunningGateway;
let origin: string;

beforeAll(async () => {
  fed = await startFederation();
  tr = createTestRedis();
  redis = createRedis(tr.url);
  gw = await createGateway({
    config: testConfig(fed, tr.prefix),
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: fed.supergraphSdl,
    manifest: { operations: [] },
    http: {},
  });
  origin = new URL(gw.url).origin;
});

afterAll(async () => {
  await gw?.stop();
  await fed?.stop();
  redis?.disconnect();
  await tr?.cleanup();
});

const preflight = (from: string, headers = "authorization, content-type") =>
  fetch(gw.url, {
    method: "OPTIONS",
    headers: { origin: from, "access-control-request-method": "POST", "access-control-request-headers": headers },
  });

describe("CORS", () => {
  it("answers a preflight from a localhost origin (development default) with the methods and headers the API uses, and no credentials", async () => {
    const r = await preflight("http://localhost:5173");
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(r.headers.get("access-control-allow-methods")).toBe("GET, POST, OPTIONS");
    expect(r.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(r.headers.get("access-control-allow-headers")).toContain("apollographql-client-name");
    expect(r.headers.get("access-control-max-age")).toBe("600");
    expect(r.headers.get("access-control-allow-credentials")).toBeNull();
    expect(r.headers.get("vary")).toContain("Origin");
  });

  it("refuses a preflight from another origin with 403 and no CORS headers", async () => {
    const r = await preflight("https://evil.example");
    expect(r.status).toBe(403);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("adds the CORS headers to the GraphQL answer for an allowed origin only", async () => {
    const ask = (from: string) =>
      fetch(gw.url, {
        method: "POST",
        headers: { origin: from, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ catalogPing }" }),
      });
    const ok = await ask("http://127.0.0.1:3000");
    expect(await ok.json()).toEqual({ data: { catalogPing: "pong" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id");
    const other = await ask("https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("takes CORS_ORIGINS as an exact list (or *); production without it allows no other origin", () => {
    const list = corsOrigins("https://shop.example.com, https://admin.example.com/", true);
    expect(list("https://shop.example.com")).toBe(true);
    expect(list("https://admin.example.com")).toBe(true);
    expect(list("http://localhost:3000")).toBe(false);
    expect(list("https://shop.example.com.evil.example")).toBe(false);
    expect(corsOrigins(undefined, true)("http://localhost:3000")).toBe(false);
    expect(corsOrigins(undefined, false)("http://localhost:3000")).toBe(true);
    expect(corsOrigins(undefined, false)("http://localhost.evil.example")).toBe(false);
    expect(corsOrigins("*", true)("https://any.example")).toBe(true);
  });
});

describe("GraphiQL (development)", () => {
  it("serves the page to a browser but GraphQL to API clients on the same GET", async () => {
    const page = await fetch(gw.url, { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('<script src="/graphiql/graphiql.js">');
    expect(html).not.toMatch(/https?:\/\/(?!localhost)[a-z]/); // nothing from a CDN
    expect(html).toContain("mutation AdminLogin"); // the trusted operations as examples
    const api = await fetch(`${gw.url}?query=${encodeURIComponent("{ catalogPing }")}`, { headers: { accept: "application/json" } });
    expect(await api.json()).toEqual({ data: { catalogPing: "pong" } });
    expect((await fetch(`${origin}/graphiql/graphiql.js`)).headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${origin}/graphiql/../index.ts`)).status).toBe(404);
  });

  it("is off in production", async () => {
    const prod = await createGateway({
      config: testConfig(fed, tr.prefix, await productionEnv()),
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: fed.supergraphSdl,
      manifest: { operations: [] },
      http: {},
    });
    try {
      const r = await fetch(prod.url, { headers: { accept: "text/html" } });
      expect(r.headers.get("content-type")).not.toContain("text/html");
      expect((await fetch(`${new URL(prod.url).origin}/graphiql/graphiql.js`)).status).toBe(404);
    } finally {
      await prod.stop();
    }
  });

  it("runs a query and a subscription in headless Chromium", async () => {
    const { browser, close } = await launchChromium();
    try {
      const alice = await login(redis, tr.prefix, fed.key, { sub: "alice" });
      await browser.addInitScript(
        (auth) => localStorage.setItem("graphiql:headers", JSON.stringify({ Authorization: auth })),
        `Bearer ${alice.token}`,
      );
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      const result = async () =>
        page.evaluate(() => (document.querySelector(".result-window .CodeMirror") as any)?.CodeMirror?.getValue() ?? "");

      await page.goto(`${gw.url}?query=${encodeURIComponent("query Ping { catalogPing whoami { kind id } }")}`);
      await page.locator(".graphiql-execute-button").click();
      await page.waitForFunction(() =>
        ((document.querySelector(".result-window .CodeMirror") as any)?.CodeMirror?.getValue() ?? "").includes("catalogPing"),
      );
      expect(JSON.parse(await result())).toEqual({ data: { catalogPing: "pong", whoami: { kind: "member", id: "alice" } } });

      await page.goto(`${gw.url}?query=${encodeURIComponent('subscription Live { ping(topic: "browser") { id item { name } } }')}`);
      await page.locator(".graphiql-execute-button").click();
      await waitFor(async () => {
        const [, n] = (await redis.pubsub("NUMSUB", `${tr.prefix}:events:ping`)) as [string, number];
        return Number(n) >= 1;
      }, "the browser's subscription");
      await publishLiveEvent(redis, tr.prefix, "ping", { eventId: "b1", keys: { topic: "browser" } });
      await page.waitForFunction(() =>
        ((document.querySelector(".result-window .CodeMirror") as any)?.CodeMirror?.getValue() ?? "").includes("b1"),
      );
      expect(JSON.parse(await result())).toEqual({ data: { ping: { id: "b1", item: { name: "Item item-b1" } } } });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });
});
