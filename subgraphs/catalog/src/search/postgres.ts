/**
 * PostgreSQL search backend (the default): the "SearchDocument" table, kept by the indexer.
 * Keyword: every word must occur in the title — as a substring (pg_trgm GIN index on lower(title);
 * works for Chinese and English) or as an English word (to_tsvector('english'), so "phones" finds
 * "Phone"). Relevance = ts_rank + trigram similarity. Facets: GROUP BY over the filtered set.
 */
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";
import type { SearchBackend, SearchDoc, SearchQuery, SearchResult } from "./types.ts";

function likePattern(token: string): string {
  return `%${token.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function whereClause(q: SearchQuery): Prisma.Sql {
  const conds: Prisma.Sql[] = [];
  for (const t of q.tokens)
    conds.push(Prisma.sql`(lower(d."title") LIKE ${likePattern(t)} OR d."tsv" @@ plainto_tsquery('english', ${t}))`);
  if (q.categoryIds) conds.push(q.categoryIds.length ? Prisma.sql`d."categoryId" IN (${Prisma.join(q.categoryIds)})` : Prisma.sql`FALSE`);
  if (q.brandIds?.length) conds.push(Prisma.sql`d."brandId" IN (${Prisma.join(q.brandIds)})`);
  for (const g of q.attributeGroups) if (g.length) conds.push(Prisma.sql`d."attributeValueIds" && ARRAY[${Prisma.join(g)}]::text[]`);
  if (q.minPrice != null) conds.push(Prisma.sql`d."minPrice" >= ${q.minPrice}::numeric`);
  if (q.maxPrice != null) conds.push(Prisma.sql`d."minPrice" <= ${q.maxPrice}::numeric`);
  return conds.length ? Prisma.join(conds, " AND ") : Prisma.sql`TRUE`;
}

function orderBy(q: SearchQuery): Prisma.Sql {
  switch (q.sort) {
    case "SALES":
      return Prisma.sql`d."sales" DESC, d."spuId" ASC`;
    case "NEWEST":
      return Prisma.sql`d."onShelfAt" DESC NULLS LAST, d."spuId" ASC`;
    case "PRICE_ASC":
      return Prisma.sql`d."minPrice" ASC, d."spuId" ASC`;
    case "PRICE_DESC":
      return Prisma.sql`d."minPrice" DESC, d."spuId" ASC`;
    default:
      if (!q.keyword?.trim()) return Prisma.sql`d."sales" DESC, d."onShelfAt" DESC NULLS LAST, d."spuId" ASC`;
      return Prisma.sql`(ts_rank(d."tsv", plainto_tsquery('english', ${q.keyword})) + similarity(lower(d."title"), ${q.keyword.toLowerCase()})) DESC, d."sales" DESC, d."spuId" ASC`;
  }
}

type Row = {
  spuId: string;
  title: string;
  categoryId: string;
  brandId: string | null;
  brandName: string | null;
  brandLogo: string | null;
  defaultImage: string | null;
  minPrice: string;
  currency: string;
  inStock: boolean;
  onShelfAt: Date | null;
  sales: number;
  attributeValueIds: string[];
};

export class PostgresSearchBackend implements SearchBackend {
  readonly name = "postgres";
  constructor(private prisma: PrismaClient) {}

  async index(docs: SearchDoc[]): Promise<void> {
    if (!docs.length) return;
    const ids = docs.map((d) => d.spuId);
    await this.prisma.$transaction([
      this.prisma.searchDocument.deleteMany({ where: { spuId: { in: ids } } }),
      this.prisma.searchDocument.createMany({
        data: docs.map((d) => ({ ...d, terms: d.title.toLowerCase(), updatedAt: new Date() })),
      }),
    ]);
  }

  async remove(spuIds: string[]): Promise<void> {
    if (spuIds.length) await this.prisma.searchDocument.deleteMany({ where: { spuId: { in: spuIds } } });
  }

  /** One statement: the filtered set once (MATERIALIZED CTE), then page, total and facets from it. */
  async search(q: SearchQuery): Promise<SearchResult> {
    const rows = await this.prisma.$queryRaw<Array<{ total: number; items: Row[]; brands: Array<{ id: string; name: string | null; count: number }>; vals: Array<{ id: string; count: number }> }>>`
      WITH d AS MATERIALIZED (SELECT d.* FROM "SearchDocument" d WHERE ${whereClause(q)})
      SELECT
        (SELECT count(*)::int FROM d) AS total,
        (SELECT coalesce(json_agg(x), '[]'::json) FROM (
          SELECT d."spuId", d."title", d."categoryId", d."brandId", d."brandName", d."brandLogo", d."defaultImage",
                 d."minPrice"::text AS "minPrice", d."currency", d."inStock", (d."onShelfAt" AT TIME ZONE 'UTC') AS "onShelfAt", d."sales", d."attributeValueIds"
          FROM d ORDER BY ${orderBy(q)} LIMIT ${q.first + 1} OFFSET ${q.offset}) x) AS items,
        (SELECT coalesce(json_agg(b), '[]'::json) FROM (
          SELECT d."brandId" AS id, max(d."brandName") AS name, count(*)::int AS count FROM d
          WHERE d."brandId" IS NOT NULL GROUP BY d."brandId" ORDER BY count DESC, name ASC LIMIT 50) b) AS brands,
        (SELECT coalesce(json_agg(v), '[]'::json) FROM (
          SELECT v AS id, count(*)::int AS count FROM d, unnest(d."attributeValueIds") AS v
          GROUP BY v ORDER BY count DESC, v ASC LIMIT 500) v) AS vals`;
    const r = rows[0]!;
    const parse = <T,>(v: unknown): T => (typeof v === "string" ? (JSON.parse(v) as T) : (v as T));
    const items = parse<Row[]>(r.items);
    return {
      total: Number(r.total),
      items: items.slice(0, q.first).map((i) => ({ ...i, onShelfAt: i.onShelfAt ? new Date(i.onShelfAt) : null })),
      facets: { brands: parse<Array<{ id: string; name: string | null; count: number }>>(r.brands).map((b) => ({ ...b, name: b.name ?? "" })), attributeValues: parse(r.vals) },
      hasNextPage: items.length > q.first,
    };
  }
}
