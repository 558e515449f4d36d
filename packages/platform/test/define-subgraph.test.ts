/**
 * defineSubgraph: one shape for every subgraph's start and stop. A tiny subgraph on the real Redis:
 * its own routes and context, readiness from its stores, services closed on stop and when the
 * server cannot start.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { defineSubgraph } from "../src/define-subgraph.ts";
import { createRedis } from "../src/redis.ts";
import { createTestRedis } from "../src/testing.ts";

const t = createTestRedis();
afterAll(() => t.cleanup());

const typeDefs = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { hello: String! }`;

function tiny() {
  const closed: string[] = [];
  const started: string[] = [];
  let redisUp = true;
  const create = defineSubgraph({
    name: "cart",
    typeDefs,
    resolvers: { Query: { hello: (_p: unknown, _a: unknown, ctx: { greeting: string }) => ctx.greeting } },
    services: (opts: { config: ReturnType<typeof loadConfig>; port?: number; greeting: string }) => {
      const redis = createRedis(t.url);
      return { greeting: opts.greeting, redis: { ping: () => (redisUp ? redis.ping() : Promise.reject(new Error("down"))) }, raw: redis };
    },
    close: async (s) => {
      closed.push(s.greeting);
      s.raw.disconnect();
    },
    context: (base, s) => ({ ...base, greeting: s.greeting }),
    beforeStart: async (s) => started.push(`before ${s.greeting}`),
    afterStart: (s, running) => started.push(`after ${s.greeting} on ${running.port > 0}`),
    routes: (s) => ({ "GET /greeting": (_req, _body, res) => void res.writeHead(200).end(s.greeting) }),
  });
  return { create, closed, started, down: () => (redisUp = false) };
}

describe("defineSubgraph", () => {
  it("serves the subgraph's schema, context and routes; /ready follows its stores; stop closes its services once", async () => {
    const sg = tiny();
    const running = await sg.create({ config: loadConfig({ REDIS_URL: t.url }), port: 0, greeting: "ni hao" });
    try {
      const r = await fetch(running.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ hello }" }),
      });
      expect(await r.json()).toEqual({ data: { hello: "ni hao" } });
      const base = running.url.replace(/\/graphql$/, "");
      expect(await (await fetch(`${base}/greeting`)).text()).toBe("ni hao");
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      sg.down();
      expect((await fetch(`${base}/ready`)).status).toBe(503);
      expect(sg.started).toEqual(["before ni hao", "after ni hao on true"]);
      expect(running.services.greeting).toBe("ni hao");
    } finally {
      await running.stop();
    }
    expect(sg.closed).toEqual(["ni hao"]);
  });

  it("closes the services when the server cannot start (its port is taken)", async () => {
    const first = tiny();
    const running = await first.create({ config: loadConfig({ REDIS_URL: t.url }), port: 0, greeting: "first" });
    try {
      const second = tiny();
      await expect(second.create({ config: loadConfig({ REDIS_URL: t.url }), port: running.port, greeting: "second" })).rejects.toThrow();
      expect(second.closed).toEqual(["second"]);
    } finally {
      await running.stop();
    }
  });
});
