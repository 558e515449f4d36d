/**
 * Elasticsearch search backend: the same SearchQuery translated to a bool query with aggregations.
 * The request bodies are built by pure functions (unit-tested without a network).
 * Titles are analysed with the built-in `cjk` analyzer (bigrams for Chinese, words for English)
 * plus an `english` sub-field; prices are kept as exact strings in _source and as scaled_float
 * (4 decimals) for range filters and sorting.
 */
import { Client, type estypes } from "@elastic/elasticsearch";
import type { SearchBackend, SearchDoc, SearchQuery, SearchResult } from "./types.ts";

export const INDEX_SETTINGS = { number_of_shards: 1, number_of_replicas: 0 };

export const INDEX_MAPPINGS = {
  dynamic: "strict",
  properties: {
    spuId: { type: "keyword" },
    title: {
      type: "text",
      analyzer: "cjk",
      fields: { en: { type: "text", analyzer: "english" }, raw: { type: "keyword", ignore_above: 256 } },
    },
    categoryId: { type: "keyword" },
    brandId: { type: "keyword" },
    brandName: { type: "keyword" },
    brandLogo: { type: "keyword", index: false },
    defaultImage: { type: "keyword", index: false },
    minPrice: { type: "scaled_float", scaling_factor: 10000 },
    currency: { type: "keyword" },
    inStock: { type: "boolean" },
    onShelfAt: { type: "date" },
    sales: { type: "integer" },
    attributeValueIds: { type: "keyword" },
  },
} as const;

/** The bulk body that indexes `docs` (one action line and one document each). */
export function buildBulkIndex(index: string, docs: SearchDoc[]): object[] {
  return docs.flatMap((d) => [
    { index: { _index: index, _id: d.spuId } },
    { ...d, onShelfAt: d.onShelfAt ? new Date(d.onShelfAt).toISOString() : null },
  ]);
}

export function buildBulkDelete(index: string, ids: string[]): object[] {
  return ids.map((id) => ({ delete: { _index: index, _id: id } }));
}

function sortClause(q: SearchQuery): Array<object | string> {
  switch (q.sort) {
    case "SALES":
      return [{ sales: "desc" }, { spuId: "asc" }];
    case "NEWEST":
      return [{ onShelfAt: { order: "desc", missing: "_last" } }, { spuId: "asc" }];
    case "PRICE_ASC":
      return [{ minPrice: "asc" }, { spuId: "asc" }];
    case "PRICE_DESC":
      return [{ minPrice: "desc" }, { spuId: "asc" }];
    default:
      return q.keyword?.trim()
        ? ["_score", { sales: "desc" }, { spuId: "asc" }]
        : [{ sales: "desc" }, { onShelfAt: { order: "desc", missing: "_last" } }, { spuId: "asc" }];
  }
}

/** The _search request body of a query. */
export function buildSearchRequest(index: string, q: SearchQuery) {
  const must: object[] = q.tokens.map((t) => ({
    bool: {
      should: [{ match_phrase: { title: t } }, { match: { "title.en": { query: t, operator: "and" } } }],
      minimum_should_match: 1,
    },
  }));
  const filter: object[] = [];
  if (q.categoryIds) filter.push({ terms: { categoryId: q.categoryIds } });
  if (q.brandIds?.length) filter.push({ terms: { brandId: q.brandIds } });
  for (const g of q.attributeGroups) if (g.length) filter.push({ terms: { attributeValueIds: g } });
  if (q.minPrice != null || q.maxPrice != null) {
    const range: Record<string, string> = {};
    if (q.minPrice != null) range.gte = q.minPrice;
    if (q.maxPrice != null) range.lte = q.maxPrice;
    filter.push({ range: { minPrice: range } });
  }
  return {
    index,
    size: q.first + 1,
    ...(q.after ? { search_after: q.after } : {}),
    track_total_hits: true,
    query: { bool: { must: must.length ? must : [{ match_all: {} }], filter } },
    sort: sortClause(q),
    aggs: {
      brands: { terms: { field: "brandId", size: 50 }, aggs: { name: { terms: { field: "brandName", size: 1 } } } },
      attributeValues: { terms: { field: "attributeValueIds", size: 500 } },
    },
  };
}

type Bucket = { key: string; doc_count: number; name?: { buckets: Array<{ key: string }> } };

/** The parts of an ES search answer (JSON over the wire) this backend reads. */
interface EsSearchAnswer {
  hits?: {
    total?: number | { value?: number };
    hits?: Array<{
      _source: Omit<SearchDoc, "minPrice" | "onShelfAt"> & { minPrice: string | number; onShelfAt?: string | null };
      sort?: Array<string | number | null>;
    }>;
  };
  aggregations?: { brands?: { buckets: Bucket[] }; attributeValues?: { buckets: Bucket[] } };
}

/** Maps an ES response to the backend result. */
export function parseSearchResponse(answer: unknown, q: SearchQuery): SearchResult {
  const res = answer as EsSearchAnswer;
  const hits = res.hits?.hits ?? [];
  const rawTotal = res.hits?.total;
  const total = typeof rawTotal === "number" ? rawTotal : (rawTotal?.value ?? 0);
  const brands: Bucket[] = res.aggregations?.brands?.buckets ?? [];
  const values: Bucket[] = res.aggregations?.attributeValues?.buckets ?? [];
  const page = hits.slice(0, q.first);
  return {
    total,
    endKey: page.at(-1)?.sort ?? null,
    items: page.map((h) => {
      const s = h._source;
      return { ...s, minPrice: String(s.minPrice), onShelfAt: s.onShelfAt ? new Date(s.onShelfAt) : null };
    }),
    facets: {
      brands: brands.map((b) => ({ id: b.key, name: b.name?.buckets[0]?.key ?? "", count: b.doc_count })),
      attributeValues: values.map((b) => ({ id: b.key, count: b.doc_count })),
    },
    hasNextPage: hits.length > q.first,
  };
}

export class ElasticsearchBackend implements SearchBackend {
  readonly name = "elasticsearch";
  private ready: Promise<void> | undefined;

  constructor(
    private client: Client,
    readonly indexName: string,
  ) {}

  static fromUrl(url: string, indexName: string): ElasticsearchBackend {
    return new ElasticsearchBackend(new Client({ node: url }), indexName);
  }

  /** Creates the index with its mapping when it does not exist. */
  ensureIndex(): Promise<void> {
    this.ready ??= (async () => {
      const exists = await this.client.indices.exists({ index: this.indexName });
      if (!exists) {
        await this.client.indices
          .create({ index: this.indexName, settings: INDEX_SETTINGS, mappings: INDEX_MAPPINGS as estypes.MappingTypeMapping })
          .catch((e: { meta?: { body?: { error?: { type?: string } } } } | undefined) => {
            if (e?.meta?.body?.error?.type !== "resource_already_exists_exception") throw e;
          });
      }
    })().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async bulk(operations: object[]) {
    if (!operations.length) return;
    await this.ensureIndex();
    const res = await this.client.bulk({ operations, refresh: "wait_for" });
    if (res.errors) {
      const failed = res.items.find((i) => {
        const r = i.index ?? i.delete;
        return r?.error && !(i.delete && r.status === 404);
      });
      if (failed) throw new Error(`elasticsearch bulk failed: ${JSON.stringify(failed)}`);
    }
  }

  index(docs: SearchDoc[]) {
    return this.bulk(buildBulkIndex(this.indexName, docs));
  }

  remove(spuIds: string[]) {
    return this.bulk(buildBulkDelete(this.indexName, spuIds));
  }

  async search(q: SearchQuery): Promise<SearchResult> {
    await this.ensureIndex();
    const res = await this.client.search(buildSearchRequest(this.indexName, q) as estypes.SearchRequest);
    return parseSearchResponse(res, q);
  }

  async deleteIndex(): Promise<void> {
    await this.client.indices.delete({ index: this.indexName, ignore_unavailable: true });
    this.ready = undefined;
  }

  close() {
    return this.client.close();
  }
}
