/**
 * Product search: validates the input, expands the category to its leaves, groups attribute values
 * by attribute, asks the configured backend, names the facets, and records the keyword for
 * suggestions (Redis sorted sets per prefix, recordSearch-prefixes.lua).
 */
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { defineLua } from "@mallgraph/platform/redis";
import { badInput } from "../errors.ts";
import type { CategoryNode, CategoryService } from "../services/categories.ts";
import type { Deps } from "../services/deps.ts";
import { tokenize } from "./tokenize.ts";
import type { SearchBackend, SearchDoc, SearchSort, SortKey } from "./types.ts";

export interface SearchInput {
  keyword?: string | null;
  categoryId?: string | null;
  brandIds?: string[] | null;
  attributeValueIds?: string[] | null;
  minPrice?: string | null;
  maxPrice?: string | null;
  sort?: SearchSort | null;
  first?: number | null;
  after?: string | null;
}

export interface SearchItem extends Omit<SearchDoc, "minPrice"> {
  minPrice: string;
}

const SUGGEST_PREFIX_CHARS = 10;
const SUGGEST_KEEP = 100;
const SUGGEST_TTL = 30 * 24 * 3600;

/** Opaque cursor: the sort and the sort key of the last item of a page (keyset pagination). */
export function encodeCursor(sort: SearchSort, key: SortKey): string {
  return Buffer.from(JSON.stringify({ s: sort, k: key })).toString("base64url");
}

export function decodeCursor(cursor: string | null | undefined, sort: SearchSort): SortKey | null {
  if (!cursor) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { s?: unknown; k?: unknown };
    if (v.s === sort && Array.isArray(v.k) && v.k.length <= 5 && v.k.every((x) => x === null || ["string", "number"].includes(typeof x)))
      return v.k as SortKey;
  } catch {
    /* fall through */
  }
  throw badInput("after is not a cursor of this search (same sort needed)", { field: "after" });
}

function priceBound(v: string | null | undefined, field: string): string | null {
  if (v == null || v === "") return null;
  if (!/^\d{1,14}(\.\d{1,4})?$/.test(v.trim())) throw badInput(`${field} must be a non-negative decimal string`, { field });
  return new Decimal(v.trim()).toFixed();
}

export function normalizeKeyword(k: string): string {
  return k.normalize("NFKC").trim().toLowerCase().replace(/\s+/g, " ").slice(0, 50);
}

type ValueInfo = {
  id: string;
  value: string;
  sort: number;
  attributeId: string;
  attribute: { name: string; sort: number; searchable: boolean };
};

export class SearchService {
  private record;
  /**
   * Attribute values by id. Values and their attributes are immutable once created (no rename
   * API), so a process-local map filled on a miss is never wrong; deleted values only stop counting.
   */
  private values = new Map<string, ValueInfo>();

  private async valueInfo(ids: string[]): Promise<Map<string, ValueInfo>> {
    const missing = ids.filter((id) => !this.values.has(id));
    if (missing.length) {
      const rows = await this.d.prisma.attributeValue.findMany({ where: { id: { in: missing } }, include: { attribute: true } });
      if (this.values.size > 100_000) this.values.clear();
      for (const r of rows)
        this.values.set(r.id, {
          id: r.id,
          value: r.value,
          sort: r.sort,
          attributeId: r.attributeId,
          attribute: { name: r.attribute.name, sort: r.attribute.sort, searchable: r.attribute.searchable },
        });
    }
    const out = new Map<string, ValueInfo>();
    for (const id of ids) {
      const v = this.values.get(id);
      if (v) out.set(id, v);
    }
    return out;
  }

  constructor(
    private d: Deps,
    private categories: CategoryService,
    readonly backend: SearchBackend,
  ) {
    this.record = defineLua<Array<string | number>, string>(
      d.redis,
      "catalogRecordSearch",
      new URL("../lua/recordSearch-prefixes.lua", import.meta.url),
      undefined,
    ); // key count passed per call
  }

  private async leafIds(categoryId: string): Promise<string[]> {
    const node = await this.categories.get(categoryId);
    if (!node) return [];
    const out: string[] = [];
    const walk = (n: CategoryNode) => (n.children.length ? n.children.forEach(walk) : out.push(n.id));
    walk(node);
    return out;
  }

  async search(input: SearchInput) {
    const first = input.first ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be 1..100", { field: "first" });
    const sort: SearchSort = input.sort ?? "RELEVANCE";
    const after = decodeCursor(input.after, sort);
    const minPrice = priceBound(input.minPrice, "minPrice");
    const maxPrice = priceBound(input.maxPrice, "maxPrice");
    if (minPrice && maxPrice && new Decimal(minPrice).gt(maxPrice)) throw badInput("minPrice is above maxPrice", { field: "minPrice" });
    const keyword = input.keyword ? normalizeKeyword(input.keyword) : "";
    const valueIds = [...new Set(input.attributeValueIds ?? [])];
    let groups: string[][] = [];
    if (valueIds.length) {
      const values = [...(await this.valueInfo(valueIds)).values()];
      const byAttr = new Map<string, string[]>();
      for (const v of values) byAttr.set(v.attributeId, [...(byAttr.get(v.attributeId) ?? []), v.id]);
      groups = [...byAttr.values()];
      if (values.length < valueIds.length) groups.push([]); // an unknown value matches nothing
    }
    const query = {
      keyword: keyword || null,
      tokens: keyword ? tokenize(keyword) : [],
      categoryIds: input.categoryId ? await this.leafIds(input.categoryId) : null,
      brandIds: input.brandIds?.length ? [...new Set(input.brandIds)] : null,
      attributeGroups: groups,
      minPrice,
      maxPrice,
      sort,
      first,
      after,
    };
    const empty = groups.some((g) => !g.length);
    const res = empty
      ? { total: 0, items: [], facets: { brands: [], attributeValues: [] }, hasNextPage: false, endKey: null }
      : await this.backend.search(query);
    if (keyword && !after) await this.recordKeyword(keyword).catch(() => undefined);
    const facetAttrs = await this.nameAttributeFacets(res.facets.attributeValues);
    return {
      total: res.total,
      items: res.items.map((i) => ({ ...i, minPrice: formatAmount(i.minPrice, i.currency) })),
      facets: { brands: res.facets.brands, attributes: facetAttrs },
      pageInfo: { hasNextPage: res.hasNextPage, endCursor: res.endKey ? encodeCursor(sort, res.endKey) : null },
    };
  }

  private async nameAttributeFacets(counts: Array<{ id: string; count: number }>) {
    if (!counts.length) return [];
    const byId = await this.valueInfo(counts.map((c) => c.id));
    const attrs = new Map<
      string,
      { id: string; name: string; sort: number; values: Array<{ id: string; value: string; count: number; sort: number }> }
    >();
    for (const c of counts) {
      const v = byId.get(c.id);
      if (!v || !v.attribute.searchable) continue;
      const a = attrs.get(v.attributeId) ?? { id: v.attributeId, name: v.attribute.name, sort: v.attribute.sort, values: [] };
      a.values.push({ id: v.id, value: v.value, count: c.count, sort: v.sort });
      attrs.set(v.attributeId, a);
    }
    return [...attrs.values()]
      .sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name))
      .map((a) => ({
        id: a.id,
        name: a.name,
        values: a.values.sort((x, y) => x.sort - y.sort || x.value.localeCompare(y.value)).map(({ sort: _s, ...v }) => v),
      }));
  }

  private suggestKey(prefix: string) {
    return this.d.keys("suggest", prefix);
  }

  /** Counts a searched keyword under each of its prefixes (up to 10 characters). */
  async recordKeyword(raw: string): Promise<void> {
    const keyword = normalizeKeyword(raw);
    if (!keyword) return;
    const chars = [...keyword];
    const keys: string[] = [];
    for (let i = 1; i <= Math.min(chars.length, SUGGEST_PREFIX_CHARS); i++) keys.push(this.suggestKey(chars.slice(0, i).join("")));
    await this.record(keys.length, ...keys, keyword, SUGGEST_KEEP, SUGGEST_TTL);
  }

  /** Most searched keywords starting with `prefix`. */
  async suggestions(prefix: string, first = 10): Promise<string[]> {
    if (!Number.isInteger(first) || first < 1 || first > 50) throw badInput("first must be 1..50", { field: "first" });
    const p = normalizeKeyword(prefix);
    if (!p) return [];
    const chars = [...p];
    const key = this.suggestKey(chars.slice(0, SUGGEST_PREFIX_CHARS).join(""));
    if (chars.length <= SUGGEST_PREFIX_CHARS) return this.d.redis.zrevrange(key, 0, first - 1);
    const all = await this.d.redis.zrevrange(key, 0, -1);
    return all.filter((k) => k.startsWith(p)).slice(0, first);
  }
}
