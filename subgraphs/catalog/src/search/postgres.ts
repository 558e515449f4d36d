/**
 * PostgreSQL search backend (the default): the "SearchDocument" table, kept by the indexer.
 * Keyword: every word must occur in the title — as a substring (pg_trgm GIN index on lower(title);
 * works for Chinese and English) or as an English word (to_tsvector('english'), so "phones" finds
 * "Phone"). Relevance = ts_rank + trigram similarity. Facets: GROUP BY over the filtered set.
 */
import { defined } from "@mallgraph/platform/errors";
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

interface Key {
  expr: Prisma.Sql;
  dir: "ASC" | "DESC";
  /** SQL type the cursor's text value is cast back to. */
  type: "text" | "bigint" | "float8" | "numeric" | "timestamp";
}

/** The sort of a query as an ordered list of keys, ending with the unique spuId (keyset pagination). */
function sortKeys(q: SearchQuery): Key[] {
  const spu: Key = { expr: Prisma.sql`d."spuId"`, dir: "ASC", type: "text" };
  const sales: Key = { expr: Prisma.sql`d."sales"::bigint`, dir: "DESC", type: "bigint" };
  const shelf: Key = { expr: Prisma.sql`coalesce(d."onShelfAt", 'epoch'::timestamp)`, dir: "DESC", type: "timestamp" };
  switch (q.sort) {
    case "SALES":
      return [sales, spu];
    case "NEWEST":
      return [shelf, spu];
    case "PRICE_ASC":
      return [{ expr: Prisma.sql`d."minPrice"`, dir: "ASC", type: "numeric" }, spu];
    case "PRICE_DESC":
      return [{ expr: Prisma.sql`d."minPrice"`, dir: "DESC", type: "numeric" }, spu];
    default:
      if (!q.keyword?.trim()) return [sales, shelf, spu];
      return [
        {
          expr: Prisma.sql`(ts_rank(d."tsv", plainto_tsquery('english', ${q.keyword})) + similarity(lower(d."title"), ${q.keyword.toLowerCase()}))::float8`,
          dir: "DESC",
          type: "float8",
        },
        sales,
        spu,
      ];
  }
}

/** Rows strictly after the cursor's key in the sort order. */
function afterCondition(keys: Key[], after: Array<string | number | null> | null): Prisma.Sql {
  if (!after) return Prisma.sql`TRUE`;
  const val = (k: Key, i: number) => Prisma.sql`${String(after[i])}::${Prisma.raw(k.type)}`;
  const ors = keys.map((k, i) => {
    const parts = keys.slice(0, i).map((kj, j) => Prisma.sql`${kj.expr} = ${val(kj, j)}`);
    parts.push(k.dir === "ASC" ? Prisma.sql`${k.expr} > ${val(k, i)}` : Prisma.sql`${k.expr} < ${val(k, i)}`);
    return Prisma.sql`(${Prisma.join(parts, " AND ")})`;
  });
  return Prisma.sql`(${Prisma.join(ors, " OR ")})`;
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
  sortKey?: string[];
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
    const keys = sortKeys(q);
    if (q.after && q.after.length !== keys.length)
      return { total: 0, items: [], facets: { brands: [], attributeValues: [] }, hasNextPage: false, endKey: null };
    const rows = await this.prisma.$queryRaw<
      Array<{
        total: number;
        items: Row[];
        brands: Array<{ id: string; name: string | null; count: number }>;
        vals: Array<{ id: string; count: number }>;
      }>
    >`
      WITH d AS MATERIALIZED (SELECT d.* FROM "SearchDocument" d WHERE ${whereClause(q)})
      SELECT
        (SELECT count(*)::int FROM d) AS total,
        (SELECT coalesce(json_agg(x), '[]'::json) FROM (
          SELECT d."spuId", d."title", d."categoryId", d."brandId", d."brandName", d."brandLogo", d."defaultImage",
                 d."minPrice"::text AS "minPrice", d."currency", d."inStock", (d."onShelfAt" AT TIME ZONE 'UTC') AS "onShelfAt", d."sales", d."attributeValueIds",
                 ARRAY[${Prisma.join(keys.map((k) => Prisma.sql`(${k.expr})::text`))}] AS "sortKey"
          FROM d WHERE ${afterCondition(keys, q.after)}
          ORDER BY ${Prisma.join(keys.map((k) => Prisma.sql`${k.expr} ${Prisma.raw(k.dir)}`))} LIMIT ${q.first + 1}) x) AS items,
        (SELECT coalesce(json_agg(b), '[]'::json) FROM (
          SELECT d."brandId" AS id, max(d."brandName") AS name, count(*)::int AS count FROM d
          WHERE d."brandId" IS NOT NULL GROUP BY d."brandId" ORDER BY count DESC, name ASC LIMIT 50) b) AS brands,
        (SELECT coalesce(json_agg(v), '[]'::json) FROM (
          SELECT v AS id, count(*)::int AS count FROM d, unnest(d."attributeValueIds") AS v
          GROUP BY v ORDER BY count DESC, v ASC LIMIT 500) v) AS vals`;
    const r = defined(rows[0], "the search aggregate row");
    const parse = <T>(v: unknown): T => (typeof v === "string" ? (JSON.parse(v) as T) : (v as T));
    const items = parse<Row[]>(r.items);
    const page = items.slice(0, q.first);
    return {
      total: Number(r.total),
      endKey: page.at(-1)?.sortKey ?? null,
      items: page.map(({ sortKey: _k, ...i }) => ({ ...i, onShelfAt: i.onShelfAt ? new Date(i.onShelfAt) : null })),
      facets: {
        brands: parse<Array<{ id: string; name: string | null; count: number }>>(r.brands).map((b) => ({ ...b, name: b.name ?? "" })),
        attributeValues: parse(r.vals),
      },
      hasNextPage: items.length > q.first,
    };
  }
}
