/** Runs against a real Elasticsearch only when ELASTICSEARCH_URL is set (skipped otherwise). */
import { randomId } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ElasticsearchBackend } from "../src/search/elasticsearch.ts";
import { tokenize } from "../src/search/tokenize.ts";
import type { SearchDoc, SearchQuery } from "../src/search/types.ts";

const url = process.env.ELASTICSEARCH_URL;

describe.skipIf(!url)("Elasticsearch backend (integration)", () => {
  let es: ElasticsearchBackend;
  const doc = (spuId: string, title: string, brandId: string, minPrice: string, values: string[], sales = 0): SearchDoc => ({
    spuId,
    title,
    categoryId: "c1",
    brandId,
    brandName: brandId.toUpperCase(),
    brandLogo: null,
    defaultImage: null,
    minPrice,
    currency: "CNY",
    inStock: true,
    onShelfAt: new Date(),
    sales,
    attributeValueIds: values,
  });
  const q = (over: Partial<SearchQuery>): SearchQuery => ({
    keyword: null,
    tokens: [],
    attributeGroups: [],
    sort: "RELEVANCE",
    first: 20,
    after: null,
    ...over,
  });
  beforeAll(async () => {
    es = ElasticsearchBackend.fromUrl(url!, `test-catalog-${randomId(4)}`);
    await es.index([
      doc("s1", "华为 Mate 60 Pro 智能手机 Huawei Smartphone", "huawei", "6999.00", ["black"], 5),
      doc("s2", "华为 nova 12 手机 Huawei nova Phone", "huawei", "2999.00", ["white"], 9),
      doc("s3", "小米 14 智能手机 Xiaomi Smartphone", "xiaomi", "3999.00", ["black"], 1),
    ]);
  });
  afterAll(async () => {
    await es?.deleteIndex();
    await es?.close();
  });

  it("searches, filters, sorts and counts facets like the PostgreSQL backend", async () => {
    const kw = (k: string) => q({ keyword: k, tokens: tokenize(k) });
    expect((await es.search(kw("华为手机"))).items.map((i) => i.spuId).sort()).toEqual(["s1", "s2"]);
    expect((await es.search(kw("smartphones"))).items.map((i) => i.spuId).sort()).toEqual(["s1", "s3"]);
    const r = await es.search(q({ attributeGroups: [["black"]], sort: "PRICE_ASC" }));
    expect(r.items.map((i) => i.spuId)).toEqual(["s3", "s1"]);
    expect(r.items[0]!.minPrice).toBe("3999.00");
    expect((await es.search(q({ sort: "SALES" }))).items[0]!.spuId).toBe("s2");
    expect((await es.search(q({ minPrice: "3000", maxPrice: "7000" }))).total).toBe(2);
    expect((await es.search(q({}))).facets.brands).toEqual([
      { id: "huawei", name: "HUAWEI", count: 2 },
      { id: "xiaomi", name: "XIAOMI", count: 1 },
    ]);
    await es.remove(["s2"]);
    expect((await es.search(q({}))).total).toBe(2);
  });
});
