import { describe, expect, it } from "vitest";
import { buildBulkDelete, buildBulkIndex, buildSearchRequest, parseSearchResponse, INDEX_MAPPINGS } from "../src/search/elasticsearch.ts";
import { decodeCursor, encodeCursor } from "../src/search/service.ts";
import { tokenize } from "../src/search/tokenize.ts";
import type { SearchQuery } from "../src/search/types.ts";

const q = (over: Partial<SearchQuery> = {}): SearchQuery => ({
  keyword: null,
  tokens: [],
  attributeGroups: [],
  sort: "RELEVANCE",
  first: 20,
  after: null,
  ...over,
});

describe("tokenize", () => {
  it("keeps Chinese runs and English words, lower-cased", () => {
    expect(tokenize("华为手机")).toEqual(["华为", "手机"]);
    expect(tokenize("Huawei Mate 60 Pro 智能手机")).toEqual(["huawei", "mate", "60", "pro", "智能", "手机"]);
    expect(tokenize("雅丹黑 12GB+512GB")).toEqual(["雅丹黑", "12gb", "512gb"]);
    expect(tokenize("  ")).toEqual([]);
  });
});

describe("elasticsearch request bodies", () => {
  it("maps every document field", () => {
    expect(Object.keys(INDEX_MAPPINGS.properties).sort()).toEqual(
      [
        "attributeValueIds",
        "brandId",
        "brandLogo",
        "brandName",
        "categoryId",
        "currency",
        "defaultImage",
        "inStock",
        "minPrice",
        "onShelfAt",
        "sales",
        "spuId",
        "title",
      ].sort(),
    );
  });

  it("bulk bodies: index and delete actions by SPU id", () => {
    const doc = {
      spuId: "s1",
      title: "T",
      categoryId: "c",
      brandId: null,
      brandName: null,
      brandLogo: null,
      defaultImage: null,
      minPrice: "12.5",
      currency: "CNY",
      inStock: true,
      onShelfAt: new Date("2026-01-01T00:00:00Z"),
      sales: 3,
      attributeValueIds: ["v1"],
    };
    expect(buildBulkIndex("idx", [doc])).toEqual([
      { index: { _index: "idx", _id: "s1" } },
      { ...doc, onShelfAt: "2026-01-01T00:00:00.000Z" },
    ]);
    expect(buildBulkDelete("idx", ["a", "b"])).toEqual([{ delete: { _index: "idx", _id: "a" } }, { delete: { _index: "idx", _id: "b" } }]);
  });

  it("no keyword: match_all, default sort by sales, aggregations for facets", () => {
    const body = buildSearchRequest("idx", q());
    expect(body.query).toEqual({ bool: { must: [{ match_all: {} }], filter: [] } });
    expect(body.sort).toEqual([{ sales: "desc" }, { onShelfAt: { order: "desc", missing: "_last" } }, { spuId: "asc" }]);
    expect(body.aggs.brands.terms.field).toBe("brandId");
    expect(body.aggs.attributeValues.terms.field).toBe("attributeValueIds");
    expect(body).toMatchObject({ index: "idx", size: 21, track_total_hits: true });
    expect(body).not.toHaveProperty("search_after");
  });

  it("keyword and every filter become a bool query", () => {
    const body = buildSearchRequest(
      "idx",
      q({
        keyword: "华为 手机",
        tokens: ["华为", "手机"],
        categoryIds: ["c1", "c2"],
        brandIds: ["b1"],
        attributeGroups: [["v1", "v2"], ["v3"]],
        minPrice: "100",
        maxPrice: "999.5",
        sort: "PRICE_ASC",
        first: 10,
        after: ["999.5", "s9"],
      }),
    );
    expect(body.query.bool.must).toEqual([
      {
        bool: {
          should: [{ match_phrase: { title: "华为" } }, { match: { "title.en": { query: "华为", operator: "and" } } }],
          minimum_should_match: 1,
        },
      },
      {
        bool: {
          should: [{ match_phrase: { title: "手机" } }, { match: { "title.en": { query: "手机", operator: "and" } } }],
          minimum_should_match: 1,
        },
      },
    ]);
    expect(body.query.bool.filter).toEqual([
      { terms: { categoryId: ["c1", "c2"] } },
      { terms: { brandId: ["b1"] } },
      { terms: { attributeValueIds: ["v1", "v2"] } },
      { terms: { attributeValueIds: ["v3"] } },
      { range: { minPrice: { gte: "100", lte: "999.5" } } },
    ]);
    expect(body.sort).toEqual([{ minPrice: "asc" }, { spuId: "asc" }]);
    expect(body).toMatchObject({ size: 11, search_after: ["999.5", "s9"] });
    expect(buildSearchRequest("i", q({ keyword: "x", tokens: ["x"] })).sort[0]).toBe("_score");
    expect(buildSearchRequest("i", q({ sort: "NEWEST" })).sort[0]).toEqual({ onShelfAt: { order: "desc", missing: "_last" } });
    expect(buildSearchRequest("i", q({ sort: "SALES" })).sort[0]).toEqual({ sales: "desc" });
    expect(buildSearchRequest("i", q({ sort: "PRICE_DESC" })).sort[0]).toEqual({ minPrice: "desc" });
  });

  it("parses hits, totals and aggregations", () => {
    const res = {
      hits: {
        total: { value: 3 },
        hits: [1, 2, 3].map((i) => ({
          _source: { spuId: `s${i}`, minPrice: "9.90", onShelfAt: "2026-01-01T00:00:00Z" },
          sort: [9.9, `s${i}`],
        })),
      },
      aggregations: {
        brands: { buckets: [{ key: "b1", doc_count: 2, name: { buckets: [{ key: "Huawei" }] } }] },
        attributeValues: { buckets: [{ key: "v1", doc_count: 3 }] },
      },
    };
    const r = parseSearchResponse(res, q({ first: 2 }));
    expect(r.total).toBe(3);
    expect(r.items.map((i) => i.spuId)).toEqual(["s1", "s2"]);
    expect(r.hasNextPage).toBe(true);
    expect(r.endKey).toEqual([9.9, "s2"]);
    expect(r.items[0]!.minPrice).toBe("9.90");
    expect(r.facets).toEqual({ brands: [{ id: "b1", name: "Huawei", count: 2 }], attributeValues: [{ id: "v1", count: 3 }] });
  });
});

describe("cursors", () => {
  it("are opaque and validated", () => {
    const c = encodeCursor("SALES", [12, "spu-1"]);
    expect(decodeCursor(c, "SALES")).toEqual([12, "spu-1"]);
    expect(decodeCursor(null, "SALES")).toBeNull();
    expect(() => decodeCursor(c, "NEWEST")).toThrow(/cursor/);
    expect(() => decodeCursor("garbage", "SALES")).toThrow(/cursor/);
  });
});
