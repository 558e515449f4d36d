/**
 * The GraphQL execution engines compared on the catalog's product detail document (the contract
 * `Product` query, a product with 4 SKUs served from memory: no I/O), in one process, CPU µs per
 * operation: Apollo Server's HTTP pipeline (what subgraphs ran before the fast path), Apollo Server
 * with a graphql-jit executor, graphql-js `execute` on a cached document, graphql-jit, and the
 * subgraph fast path (packages/platform/src/fast-graphql.ts: graphql-jit + cache policy + error
 * formatting). The evidence behind docs/decisions/0010-subgraph-fast-path.md.
 *
 *   NODE_ENV=production npx tsx bench/catalog/execution.ts [N]
 */
import { createRequire } from "node:module";
import { ApolloServer, HeaderMap } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { compileQuery, isCompiledQuery } from "graphql-jit";
import { createFastExecutor } from "../../packages/platform/src/fast-graphql.ts";
import { typeDefs } from "../../subgraphs/catalog/src/index.ts";
import { resolvers } from "../../subgraphs/catalog/src/resolvers/index.ts";

const { parse, execute } = createRequire(import.meta.url)("graphql") as typeof import("graphql");
const N = Number(process.argv[2] ?? 20000);
const sku = (i: number) => ({
  id: `sku-${i}`,
  spuId: "p1",
  code: `C${i}`,
  title: `Sku ${i} 雅丹黑 12GB+256GB`,
  price: "6999.00",
  currency: "CNY",
  images: ["https://img.example/x.png"],
  onShelf: true,
  stock: { available: 100 + i, reserved: 0, sold: 5 },
  saleAttributes: [
    { attributeId: "a1", name: "颜色 Colour", valueId: "v1", value: "雅丹黑 Black", sort: 0 },
    { attributeId: "a2", name: "存储 Storage", valueId: "v2", value: "12GB+256GB", sort: 1 },
  ],
});
const view = {
  id: "p1",
  title: "华为 Mate 60 Pro 智能手机",
  subtitle: null,
  description: null,
  images: [],
  status: "ON_SHELF",
  onShelfAt: new Date(),
  sales: 3,
  category: { id: "c", name: "x", level: 3, sort: 0, parentId: null, children: [] },
  brand: { id: "b1", name: "华为 Huawei", logo: null, description: null },
  baseAttributes: [],
  skus: [0, 1, 2, 3].map(sku),
};
const ctx = () => ({
  identity: { kind: "member", id: "m" },
  requestId: "r",
  services: {} as any,
  loaders: { product: { load: async () => view }, sku: { load: async () => null }, rating: { load: async () => null } } as any,
});
const PRODUCT = `query Product($id: ID!) { product(id: $id) { id title status brand { id name } skus { id code title price currency stock { available } saleAttributes { name value } } } }`;
const schema = buildSubgraphSchema({ typeDefs: parse(typeDefs), resolvers: resolvers as any });
const body = { query: PRODUCT, variables: { id: "p1" } };
const headers = new HeaderMap([["content-type", "application/json"]]);
const outputs = new Set<string>();

async function time(name: string, fn: () => Promise<string>) {
  for (let i = 0; i < 2000; i++) await fn();
  const t = process.cpuUsage();
  let out = "";
  for (let i = 0; i < N; i++) out = await fn();
  const u = process.cpuUsage(t);
  outputs.add(out.trim());
  console.log(`| ${name} | ${((u.user + u.system) / N).toFixed(1)} |`);
}

console.log(
  `product detail, 4 SKUs, in memory; ${N} operations each, Node ${process.version}, NODE_ENV=${process.env.NODE_ENV}\n\n| engine | CPU µs per operation |\n|---|---|`,
);
const apollo = new ApolloServer<any>({
  schema,
  plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
});
await apollo.start();
await time("Apollo Server 5 (HTTP pipeline, cache-control plugin)", async () => {
  const r = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: "POST", headers, search: "", body: JSON.parse(JSON.stringify(body)) },
    context: async () => ctx(),
  });
  return (r.body as any).string;
});

// Apollo Server with a graphql-jit executor plugged in through its gateway interface
const compiled = new Map<string, any>();
const gw: any = {
  onSchemaLoadOrUpdate(cb: any) {
    gw.cb = cb;
    return () => undefined;
  },
  async load() {
    gw.cb({ apiSchema: schema, coreSupergraphSdl: typeDefs });
    return {
      executor: async (rc: any) => {
        let cq = compiled.get(rc.source);
        if (!cq) compiled.set(rc.source, (cq = compileQuery(schema, rc.document, rc.operationName)));
        rc.overallCachePolicy.restrict({ maxAge: 2 });
        return cq.query(undefined, rc.context, rc.request.variables);
      },
    };
  },
  async stop() {},
};
const apolloJit = new ApolloServer<any>({
  gateway: gw,
  plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled()],
});
await apolloJit.start();
await time("Apollo Server 5 + graphql-jit executor (gateway interface)", async () => {
  const r = await apolloJit.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: "POST", headers, search: "", body: JSON.parse(JSON.stringify(body)) },
    context: async () => ctx(),
  });
  return (r.body as any).string;
});

const doc = parse(PRODUCT);
await time("graphql-js execute, cached document, JSON.stringify", async () =>
  JSON.stringify(await execute({ schema, document: doc, variableValues: { id: "p1" }, contextValue: ctx() })),
);
const c = compileQuery(schema, doc);
if (!isCompiledQuery(c)) throw new Error("graphql-jit could not compile the document");
await time("graphql-jit, JSON.stringify", async () => JSON.stringify(await c.query(undefined, ctx(), { id: "p1" })));
const fast = createFastExecutor(schema);
await time(
  "subgraph fast path (graphql-jit + cache policy + formatting), from the parsed body",
  async () => (await fast.tryExecute("POST", JSON.parse(JSON.stringify(body)), ctx))!.body,
);
if (outputs.size !== 1) throw new Error(`the engines answered differently:\n${[...outputs].join("\n")}`);
console.log("\nevery engine answered the same bytes");
process.exit(0);
