/**
 * The catalog's contract operations (Categories, SearchProducts, Product — taken verbatim from the
 * trusted manifest) through the real gateway, over a supergraph composed from the catalog subgraph.
 */
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { createGateway, type RunningGateway } from "@mallgraph/gateway/src/index.ts";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeDefs } from "../src/index.ts";
import { drainOutbox } from "../src/search/outbox.ts";
import { startHarness, smallCatalog, type Harness } from "./helpers.ts";

const manifest = JSON.parse(readFileSync(new URL("../../../schema/operations/manifest.json", import.meta.url), "utf8")) as {
  operations: Array<{ name: string; body: string }>;
};
const body = (name: string) => {
  const op = manifest.operations.find((o) => o.name === name);
  if (!op) throw new Error(`${name} is not in the manifest`);
  return op.body;
};

describe("catalog contract operations through the gateway", () => {
  let h: Harness;
  let gw: RunningGateway;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", "apollographql-client-name": "catalog-test" },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      ...((await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> }),
    };
  };

  beforeAll(async () => {
    h = await startHarness();
    cat = await smallCatalog(h.services, { skus: 4, stock: 7 });
    await drainOutbox({
      prisma: h.services.prisma,
      redis: h.services.redis,
      keys: h.services.deps.keys,
      backend: h.services.search.backend,
    });
    const composed = composeServices([{ name: "catalog", url: h.url, typeDefs: parse(typeDefs) }]);
    if (composed.errors?.length) throw new Error(composed.errors.map((e) => e.message).join("\n"));
    gw = await createGateway({
      config: h.config,
      port: 0,
      host: "127.0.0.1",
      supergraphSdl: composed.supergraphSdl!,
      subgraphUrls: { catalog: h.url },
      jwks: async () => {
        throw new Error("no tokens in this test");
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await h?.stop();
  });

  it("Categories: the 3-level tree", async () => {
    const r = await post(body("Categories"));
    expect(r.errors).toBeUndefined();
    expect(r.data.categories).toEqual([
      {
        id: cat.root.id,
        name: cat.root.name,
        children: [{ id: cat.mid.id, name: cat.mid.name, children: [{ id: cat.leaf.id, name: cat.leaf.name }] }],
      },
    ]);
  });

  it("SearchProducts: keyword + brand + attribute filters, facets, cursor", async () => {
    const r = await post(body("SearchProducts"), {
      query: { keyword: "华为 手机", brandIds: [cat.brand.id], attributeValueIds: [cat.colour.values[1]!.id], sort: "PRICE_ASC", first: 1 },
    });
    expect(r.errors).toBeUndefined();
    const s = r.data.searchProducts;
    expect(s.total).toBe(1);
    expect(s.items).toEqual([
      {
        spuId: cat.product.id,
        title: cat.product.title,
        minPrice: "6999.00",
        currency: "CNY",
        inStock: true,
        brandName: "华为 Huawei",
        defaultImage: "https://img.example/mate60.jpg",
      },
    ]);
    expect(s.facets.brands).toEqual([{ id: cat.brand.id, name: "华为 Huawei", count: 1 }]);
    expect(s.facets.attributes.map((a: any) => a.name).sort()).toEqual(["存储 Storage", "屏幕 Screen", "颜色 Colour"].sort());
    expect(s.pageInfo).toMatchObject({ hasNextPage: false });
    expect(s.pageInfo.endCursor).toBeTruthy();
  });

  it("Product: SPU, brand, SKUs with price, stock and sale attributes; unknown id → null", async () => {
    const r = await post(body("Product"), { id: cat.product.id });
    expect(r.errors).toBeUndefined();
    const p = r.data.product;
    expect(p).toMatchObject({
      id: cat.product.id,
      title: cat.product.title,
      status: "ON_SHELF",
      brand: { id: cat.brand.id, name: "华为 Huawei" },
    });
    expect(p.skus).toHaveLength(4);
    expect(p.skus[0]).toEqual({
      id: cat.product.skus[0]!.id,
      code: "MATE60-0",
      title: cat.product.skus[0]!.title,
      price: "6999.00",
      currency: "CNY",
      stock: { available: 7 },
      saleAttributes: [
        { name: "存储 Storage", value: "12GB+256GB" },
        { name: "颜色 Colour", value: "雅丹黑 Black" },
      ],
    });
    expect((await post(body("Product"), { id: "nope" })).data.product).toBeNull();
  });

  it("internal inventory fields are not part of the public API", async () => {
    const r = await post(`mutation { inventoryRelease(key: "x") }`);
    expect(r.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(await h.services.prisma.reservation.count()).toBe(0);
  });
});
