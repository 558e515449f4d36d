/**
 * The gateway's per-request parts that are the same for every request of a caller or an operation,
 * in one process, CPU µs per operation (process.cpuUsage: what the load on a shared machine changes
 * least): access-token verification (EdDSA via jose) against the remembered token, and the query
 * cost/depth measure of the contract `Product` document against the remembered measure. A real
 * Redis (session lookup, cached ≤ 1 s as in production) backs the auth part.
 *
 *   NODE_ENV=production npx tsx bench/gateway-parts/hot-path.ts [N]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { generateSigningKey, sessionKey, signAccessToken } from "@mallgraph/platform/auth";
import { createRedis } from "@mallgraph/platform/redis";
import { graphql } from "../../gateway/src/graphql.ts";
import type { RequestState } from "../../gateway/src/plugins/types.ts";
import { useAuth } from "../../gateway/src/plugins/useAuth.ts";
import { measureOperation, useQueryLimits } from "../../gateway/src/plugins/useQueryLimits.ts";

const N = Number(process.argv[2] ?? 5000);
const root = path.resolve(import.meta.dirname, "../..");
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
async function perOp(label: string, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, N); i++) await fn();
  const t0 = cpuUs();
  for (let i = 0; i < N; i++) await fn();
  const us = (cpuUs() - t0) / N;
  console.log(`| ${label} | ${us.toFixed(1)} |`);
  return us;
}

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `benchparts${process.pid}`;
const { key } = await generateSigningKey();

const { importJWK } = await import("jose");
const publicKey = await importJWK(key.publicJwk, "EdDSA");
await redis.hset(sessionKey(prefix, "s1"), {
  realm: "member",
  subject: "m1",
  device: "WEB",
  permissions: "[]",
  createdAt: String(Date.now()),
});
const token = await signAccessToken(key, "bench", 3600, { sub: "m1", sid: "s1", realm: "member" });

console.log(
  `CPU µs per operation, ${N} operations each (Node ${process.version}, load ${(await import("node:os"))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")})\n`,
);
console.log("| part | CPU µs/op |\n|---|---|");
const header = `Bearer ${token}`;
const verifyEach = useAuth({ redis, prefix, issuer: "bench", jwks: async () => publicKey, maxCachedTokens: 0 });
const remembered = useAuth({ redis, prefix, issuer: "bench", jwks: async () => publicKey });
await perOp("authenticate: verify the JWT every request (before)", () => verifyEach.authenticate(header));
await perOp("authenticate: token remembered until exp (after)", () => remembered.authenticate(header));

const supergraph = readFileSync(path.join(root, "schema/supergraph.graphql"), "utf8");
const { Supergraph } = await import("@apollo/federation-internals");
const api = Supergraph.build(supergraph).apiSchema().toGraphQLJSSchema();
const manifest = JSON.parse(readFileSync(path.join(root, "schema/operations/manifest.json"), "utf8")) as {
  operations: Array<{ name: string; body: string }>;
};
const body = manifest.operations.find((o) => o.name === "Product")!.body;
const document = graphql.parse(body);
const operation = graphql.getOperationAST(document, "Product")!;
const limits = useQueryLimits({ maxDepth: 15, maxCost: 5000 });
const state = {} as RequestState;
await perOp("query cost/depth of Product, measured each request (before)", () => measureOperation(api, document, operation, { id: "x" }));
await perOp("query cost/depth of Product, remembered per document (after)", () =>
  limits.onOperation!({ schema: api, document, operation, variables: { id: "x" }, state }),
);

await redis.del(sessionKey(prefix, "s1"));
redis.disconnect();
process.exit(0);
