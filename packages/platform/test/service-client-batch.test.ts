/**
 * Service calls in batches (decision 0053): the calls a process makes to one provider in the same
 * turn of its event loop go as one `POST /graphql/batch` to a real subgraph (defineSubgraph), each
 * checked and answered as a call of its own — its own identity, variables, errors. A provider
 * without the endpoint gets single calls; `batch: false` never batches; an exchange cut short fails
 * only the calls it did not answer.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceKeys, type Identity } from "../src/auth.ts";
import { loadConfig } from "../src/config.ts";
import { defineSubgraph } from "../src/define-subgraph.ts";
import { AppError, ErrorCode } from "../src/errors.ts";
import { createRedis } from "../src/redis.ts";
import { createServiceClient } from "../src/service-client.ts";
import { encodeBatchFrame } from "../src/subgraph-batch.ts";
import type { RunningSubgraph } from "../src/subgraph.ts";
import { createTestRedis } from "../src/testing.ts";

const t = createTestRedis();
const config = loadConfig({ REDIS_URL: t.url });
const secret = serviceKeys(config);

const typeDefs = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { echo(n: Int!): String! }`;

let sg: RunningSubgraph;
/** The paths the subgraph was asked for. */
const paths: string[] = [];
/** A plain server without a batch endpoint: answers `/graphql` with the call's variable, 404 elsewhere. */
let plain: http.Server;
let plainUrl: string;
const plainPaths: string[] = [];

beforeAll(async () => {
  const create = defineSubgraph({
    name: "cart",
    typeDefs,
    resolvers: {
      Query: {
        echo: (_p: unknown, a: { n: number }, ctx: { identity: Identity }) => {
          if (a.n < 0) throw new AppError(ErrorCode.BAD_USER_INPUT, `negative ${a.n}`);
          return `${a.n} for ${ctx.identity.kind === "internal" ? ctx.identity.service : ctx.identity.kind}`;
        },
      },
    },
    services: () => {
      const redis = createRedis(t.url);
      return { redis };
    },
    close: async (s) => s.redis.disconnect(),
    context: (base) => base,
  });
  sg = await create({ config, port: 0 });
  sg.server.on("request", (req: http.IncomingMessage) => paths.push(req.url ?? ""));
  plain = http.createServer((req, res) => {
    plainPaths.push(req.url ?? "");
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url !== "/graphql") return void res.writeHead(404).end();
      const { variables } = JSON.parse(body) as { variables: { n: number } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: { echo: `${variables.n} plain` } }));
    });
  });
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", () => r()));
  plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/graphql`;
}, 60_000);

afterAll(async () => {
  await sg?.stop();
  plain?.closeAllConnections();
  await new Promise((r) => plain?.close(r));
  await t.cleanup();
});

const ECHO = "query($n: Int!) { echo(n: $n) }";
const echo = (client: ReturnType<typeof createServiceClient>, n: number) =>
  client.request<{ echo: string }>(ECHO, { n }).then(
    (d) => d.echo,
    (e: AppError) => `error ${e.extensions.code}: ${e.message}`,
  );

async function during<T>(seen: string[], fn: () => Promise<T>): Promise<{ result: T; asked: string[] }> {
  const from = seen.length;
  const result = await fn();
  return { result, asked: seen.slice(from) };
}

describe("service calls in batches", () => {
  it("sends the calls of one turn as one batch, each answered as a call of its own", async () => {
    const client = createServiceClient({ url: sg.url, secret, service: "order" });
    const { result, asked } = await during(paths, () => Promise.all([1, 2, -3, 4, 5].map((n) => echo(client, n))));
    expect(result).toEqual(["1 for order", "2 for order", "error BAD_USER_INPUT: negative -3", "4 for order", "5 for order"]);
    expect(asked).toEqual(["/graphql/batch"]);
  });

  it("sends a call alone as before, and calls of later turns in their own exchanges", async () => {
    const client = createServiceClient({ url: sg.url, secret, service: "order" });
    const { result, asked } = await during(paths, async () => [await echo(client, 7), await echo(client, 8)]);
    expect(result).toEqual(["7 for order", "8 for order"]);
    expect(asked).toEqual(["/graphql", "/graphql"]);
  });

  it("never batches with batch: false, nor with SERVICE_CALL_BATCH=off", async () => {
    const client = createServiceClient({ url: sg.url, secret, service: "order", batch: false });
    const { result, asked } = await during(paths, () => Promise.all([1, 2, 3].map((n) => echo(client, n))));
    expect(result).toEqual(["1 for order", "2 for order", "3 for order"]);
    expect(asked).toEqual(["/graphql", "/graphql", "/graphql"]);
    process.env.SERVICE_CALL_BATCH = "off";
    let off: ReturnType<typeof createServiceClient>;
    try {
      off = createServiceClient({ url: sg.url, secret, service: "order" });
    } finally {
      delete process.env.SERVICE_CALL_BATCH;
    }
    const fromEnv = await during(paths, () => Promise.all([4, 5].map((n) => echo(off, n))));
    expect(fromEnv.result).toEqual(["4 for order", "5 for order"]);
    expect(fromEnv.asked).toEqual(["/graphql", "/graphql"]);
  });

  it("sends single calls to a provider without the batch endpoint, and goes on doing so", async () => {
    const client = createServiceClient({ url: plainUrl, secret, service: "order" });
    const first = await during(plainPaths, () => Promise.all([1, 2, 3].map((n) => echo(client, n))));
    expect(first.result).toEqual(["1 plain", "2 plain", "3 plain"]);
    expect(first.asked.sort()).toEqual(["/graphql", "/graphql", "/graphql", "/graphql/batch"]);
    const then = await during(plainPaths, () => Promise.all([4, 5].map((n) => echo(client, n))));
    expect(then.result).toEqual(["4 plain", "5 plain"]);
    expect(then.asked).toEqual(["/graphql", "/graphql"]);
  });

  it("fails only the calls a cut-short batch did not answer", async () => {
    // answers the first element of a batch, then closes the connection mid-answer
    const cut = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/vnd.mallgraph.batch" });
        res.write(encodeBatchFrame(0, { status: 200, headers: {}, body: JSON.stringify({ data: { echo: "first" } }) }));
        setTimeout(() => res.destroy(), 50);
      });
    });
    await new Promise<void>((r) => cut.listen(0, "127.0.0.1", () => r()));
    try {
      const client = createServiceClient({
        url: `http://127.0.0.1:${(cut.address() as AddressInfo).port}/graphql`,
        secret,
        service: "order",
      });
      const result = await Promise.all([1, 2, 3].map((n) => echo(client, n)));
      expect(result[0]).toBe("first");
      expect(result[1]).toMatch(/^error SERVICE_UNAVAILABLE: .* unreachable/);
      expect(result[2]).toMatch(/^error SERVICE_UNAVAILABLE: .* unreachable/);
    } finally {
      cut.closeAllConnections();
      await new Promise((r) => cut.close(r));
    }
  });
});
