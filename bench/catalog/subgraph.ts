/**
 * Catalog benchmarks straight against the catalog subgraph (no gateway): product detail (the
 * contract `Product` query) and search with two filters and facets, over the demo catalog.
 *
 *   npx tsx bench/catalog/subgraph.ts            # uses DATABASE_URL (seeds the demo data first)
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=32 npx tsx bench/catalog/subgraph.ts
 *
 * Prints requests/s and p50/p99 latency per scenario (the lead's bench/run.ts measures the same
 * operations through the gateway).
 */
import autocannon from "autocannon";
import os from "node:os";
import { loadConfig } from "../../packages/platform/src/config.ts";
import { createCatalogSubgraph } from "../../subgraphs/catalog/src/index.ts";
import { seed } from "../../subgraphs/catalog/src/seed.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const config = loadConfig();

const PRODUCT = `query Product($id: ID!) { product(id: $id) { id title status brand { id name } skus { id code title price currency stock { available } saleAttributes { name value } } } }`;
const SEARCH = `query SearchProducts($query: ProductSearchInput!) { searchProducts(query: $query) { total items { spuId title minPrice currency inStock brandName defaultImage } facets { brands { id name count } attributes { id name values { id value count } } } pageInfo { hasNextPage endCursor } } }`;

console.log(await seed(config));
const sg = await createCatalogSubgraph({ config, port: 0, poolSize: 20 });
const spuIds = (await sg.services.prisma.spu.findMany({ select: { id: true }, where: { status: "ON_SHELF" } })).map((s) => s.id);
const phones = await sg.services.prisma.category.findFirstOrThrow({ where: { name: { startsWith: "手机数码" } } });
const brandIds = (await sg.services.prisma.brand.findMany({ take: 3, orderBy: { sort: "asc" } })).map((b) => b.id);

async function run(name: string, body: () => object) {
  let failures = 0;
  const r = await autocannon({
    url: sg.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (req: any) => ({ ...req, headers: { "content-type": "application/json" }, body: JSON.stringify(body()) }),
        onResponse: (_s: number, b: string) => {
          if (b.includes('"errors"')) failures++;
        },
      },
    ],
  } as any);
  const line = `| ${name} | ${connections} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.non2xx + failures} |`;
  console.log(line);
  return line;
}

let i = 0;
console.log(`\ncatalog subgraph, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${seconds}s per scenario\n`);
console.log("| scenario | connections | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|");
await run("product detail", () => ({ query: PRODUCT, variables: { id: spuIds[i++ % spuIds.length] } }));
const keywords = ["手机", "华为", "laptop", "耳机", "smart", "电视"];
await run("search: keyword + category + brands, facets", () => ({
  query: SEARCH,
  variables: { query: { keyword: keywords[i++ % keywords.length], categoryId: phones.id, brandIds, first: 20 } },
}));
await run("search: category + price range, facets, sort by sales", () => ({
  query: SEARCH,
  variables: { query: { categoryId: phones.id, minPrice: "1000", maxPrice: "5000", sort: "SALES", first: 20 } },
}));
await sg.stop();
process.exit(0);
