/**
 * Catalog benchmarks straight against the catalog subgraph (no gateway): product detail (the
 * contract `Product` query), `categories`, and search with two filters and facets, over the demo
 * catalog. The subgraph runs as its own process (as in production: `subgraphs/catalog/src/index.ts`,
 * NODE_ENV=production) on the bench database, so the load generator does not share its event loop;
 * the figures include the subgraph process's CPU milliseconds per request (from /proc) and the
 * machine's load average.
 *
 *   npx tsx bench/catalog/subgraph.ts                  # every scenario (migrates + seeds mallgraph_bench first)
 *   npx tsx bench/catalog/subgraph.ts product          # scenarios whose name contains "product"
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npx tsx bench/catalog/subgraph.ts
 *   BENCH_PROFILE=1 npx tsx bench/catalog/subgraph.ts product   # + a CPU profile of the subgraph per scenario
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../packages/platform/src/config.ts";
import { setup } from "../../scripts/setup.ts";
import { freePort } from "../../scripts/stack.ts";
import { loadAverage } from "../lib/cpu.ts";
import { errorCounter, runLoad } from "../lib/load.ts";
import { profileWhile } from "../lib/profiler.ts";
import { BENCH_ENV, benchDatabaseUrl } from "../lib/stack.ts";
import { areaTable, functionTable, summarise, type CpuProfile } from "../profile-summary.ts";

const root = path.resolve(import.meta.dirname, "../..");
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const filter = process.argv[2];

const PRODUCT = `query Product($id: ID!) { product(id: $id) { id title status brand { id name } skus { id code title price currency stock { available } saleAttributes { name value } } } }`;
const CATEGORIES = `query Categories { categories { id name children { id name children { id name } } } }`;
const SEARCH = `query SearchProducts($query: ProductSearchInput!) { searchProducts(query: $query) { total items { spuId title minPrice currency inStock brandName defaultImage } facets { brands { id name count } attributes { id name values { id value count } } } pageInfo { hasNextPage endCursor } } }`;

const env = { ...process.env, DATABASE_URL: benchDatabaseUrl(), ...BENCH_ENV };
if (process.env.BENCH_SKIP_SETUP !== "1") await setup(loadConfig(env));
const port = await freePort();
const proc = spawn(process.execPath, ["--import", "tsx", path.join(root, "subgraphs/catalog/src/index.ts")], {
  cwd: root,
  env: { ...env, CATALOG_PORT: String(port) },
  stdio: "inherit",
});
const url = `http://127.0.0.1:${port}/graphql`;
for (let i = 0; ; i++) {
  if (proc.exitCode !== null) throw new Error("the catalog subgraph exited");
  if (
    await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  if (i > 600) throw new Error("the catalog subgraph did not get ready");
  await new Promise((r) => setTimeout(r, 200));
}

async function gql(query: string, variables?: object): Promise<any> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const j = (await r.json()) as any;
  if (j.errors) throw new Error(JSON.stringify(j.errors));
  return j.data;
}

const spuIds: string[] = [];
for (let after: string | null = null; ;) {
  const d: any = await gql(
    `query($q: ProductSearchInput!){ searchProducts(query:$q){ items { spuId } pageInfo { hasNextPage endCursor } } }`,
    { q: { sort: "NEWEST", first: 50, after } },
  );
  spuIds.push(...d.searchProducts.items.map((i: any) => i.spuId));
  if (!d.searchProducts.pageInfo.hasNextPage) break;
  after = d.searchProducts.pageInfo.endCursor;
}
const phones = (await gql(CATEGORIES)).categories.find((c: any) => c.name.startsWith("手机数码"));
const brandIds = (await gql(`{ brands { id } }`)).brands.slice(0, 3).map((b: any) => b.id);

const lines: string[] = [];
async function run(name: string, body: () => object) {
  if (filter && !name.includes(filter)) return;
  if (warmup > 0) await runLoad({ url, next: () => ({ body: body() }), connections, seconds: warmup });
  const errors = errorCounter();
  const load = () =>
    runLoad({ url, next: () => ({ body: body() }), check: errors.check, connections, seconds, pids: { catalog: proc.pid! } });
  let r: Awaited<ReturnType<typeof load>>;
  if (process.env.BENCH_PROFILE === "1") {
    const p = await profileWhile(proc.pid!, load);
    r = p.result;
    const s = summarise(p.profile as CpuProfile);
    console.log(
      `\n${name} (profiled: the sampling costs CPU too)\n\n${areaTable(s, { grouped: true, minShare: 0.01, requests: r.requests })}\n\n${functionTable(s, 25)}\n`,
    );
  } else r = await load();
  const line = `| ${name} | ${connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpuPerRequest.catalog!.toFixed(3)} | ${r.errors + r.non2xx + errors.failures()} | ${r.load} |`;
  console.log(line);
  lines.push(line);
}

let i = 0;
console.log(
  `\ncatalog subgraph alone, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, ${seconds} s per scenario after ${warmup} s warm-up, ${spuIds.length} products\n`,
);
console.log(
  "| scenario | connections | req/s | p50 ms | p99 ms | catalog CPU ms/req | errors | load (before → after) |\n|---|---|---|---|---|---|---|---|",
);
await run("product detail", () => ({ query: PRODUCT, variables: { id: spuIds[i++ % spuIds.length] } }));
await run("categories", () => ({ query: CATEGORIES }));
const keywords = ["手机", "华为", "laptop", "耳机", "smart", "电视"];
await run("search: keyword + category + brands, facets", () => ({
  query: SEARCH,
  variables: { query: { keyword: keywords[i++ % keywords.length], categoryId: phones.id, brandIds, first: 20 } },
}));
await run("search: category + price range, facets, sort by sales", () => ({
  query: SEARCH,
  variables: { query: { categoryId: phones.id, minPrice: "1000", maxPrice: "5000", sort: "SALES", first: 20 } },
}));
proc.kill("SIGTERM");
console.log(`\n(${loadAverage()})`);
process.exit(0);
