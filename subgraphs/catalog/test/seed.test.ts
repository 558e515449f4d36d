import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCatalog } from "../src/seed-data.ts";
import { seed } from "../src/seed.ts";
import { ok, startHarness, type Harness } from "./helpers.ts";

describe("demo data", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is deterministic", () => {
    const a = generateCatalog({ now: 0 });
    const b = generateCatalog({ now: 0 });
    expect(a).toEqual(b);
    expect(a.brands).toHaveLength(20);
    expect(a.spus).toHaveLength(500);
    expect(a.skus).toHaveLength(2000);
    expect(new Set(a.skus.map((s) => s.code)).size).toBe(2000);
    expect(a.spus[0]!.title).toMatch(/\p{Script=Han}.* [A-Za-z]/u);
  });

  it("seeds 3 levels, 20 brands, 500 SPUs on shelf, 2,000 SKUs — idempotently — and search works at once", async () => {
    const first = await seed(h.config, { databaseUrl: h.db.url });
    expect(first).toContain("500 SPUs, 2000 SKUs, 500 search documents");
    const stockBefore = await h.services.prisma.inventory.aggregate({ _sum: { available: true } });
    expect(await seed(h.config, { databaseUrl: h.db.url })).toBe(first);
    expect(await h.services.prisma.inventory.aggregate({ _sum: { available: true } })).toEqual(stockBefore);
    expect(await h.services.prisma.spu.count({ where: { status: "ON_SHELF" } })).toBe(500);
    const tree = ok<any>(await h.gql(`{ categories { id name children { id name children { id name } } } }`)).categories;
    expect(tree.length).toBe(4);
    expect(tree[0].name).toBe("手机数码 Phones & Digital");
    expect(tree[0].children[0].children.map((c: any) => c.name)).toContain("手机 Smartphones");
    const r = ok<any>(
      await h.gql(
        `query($q: ProductSearchInput!) { searchProducts(query: $q) { total items { title minPrice currency } facets { brands { name count } } } }`,
        { q: { keyword: "华为 手机", first: 5 } },
      ),
    ).searchProducts;
    expect(r.total).toBeGreaterThan(0);
    expect(r.items[0].title).toMatch(/华为/);
    expect(r.items[0].minPrice).toMatch(/^\d+\.\d{2}$/);
    expect(r.facets.brands).toEqual([{ name: "华为 Huawei", count: r.total }]);
    const pid = (await h.services.prisma.spu.findFirstOrThrow({ orderBy: { id: "asc" } })).id;
    const p = ok<any>(
      await h.gql(
        `query($id: ID!) { product(id: $id) { id title status skus { code price stock { available } saleAttributes { name value } } saleAttributeMatrix { attributes { name } } } }`,
        { id: pid },
      ),
    ).product;
    expect(p.status).toBe("ON_SHELF");
    expect(p.skus).toHaveLength(4);
    expect(p.saleAttributeMatrix.attributes).toHaveLength(2);
  });
});
