/** Reviews with ratings (1–5) on purchased SKUs, one per member, order and SKU. */
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { ReviewCode, assertText, badInput, notFound } from "../errors.ts";
import type { Deps } from "./deps.ts";
import type { PurchaseVerifier } from "./purchases.ts";

export interface RatingSummary {
  count: number;
  average: string | null;
  distribution: number[];
}

function encode(createdAt: Date, id: string) {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");
}
function decode(cursor: string): { createdAt: Date; id: string } {
  try {
    const [t, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const createdAt = new Date(t);
    if (typeof id === "string" && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  } catch {
    /* fall through */
  }
  throw badInput("after is not a review cursor", { field: "after" });
}

export class ReviewService {
  constructor(
    private d: Deps,
    private verifier: PurchaseVerifier,
  ) {}

  async add(memberId: string, orderId: string, skuId: string, rating: number, content: string) {
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw badInput("rating must be an integer from 1 to 5", { field: "rating" });
    const text = assertText(content, "content", 2000);
    assertText(orderId, "orderId", 100);
    const sku = await this.d.prisma.sku.findUnique({ where: { id: skuId }, select: { spuId: true } });
    if (!sku) throw notFound("SKU", skuId);
    if (await this.d.prisma.review.findUnique({ where: { orderId_skuId_memberId: { orderId, skuId, memberId } } }))
      return { code: ReviewCode.ALREADY_REVIEWED, review: null };
    if (!(await this.verifier.verify(orderId, memberId, skuId))) return { code: ReviewCode.NOT_PURCHASED, review: null };
    try {
      const review = await this.d.prisma.review.create({ data: { spuId: sku.spuId, skuId, memberId, orderId, rating, content: text } });
      return { code: ReviewCode.OK, review };
    } catch (e) {
      if (isUniqueViolation(e)) return { code: ReviewCode.ALREADY_REVIEWED, review: null };
      throw e;
    }
  }

  async list(spuId: string, first = 10, after?: string | null) {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be 1..100", { field: "first" });
    const c = after ? decode(after) : null;
    const rows = await this.d.prisma.review.findMany({
      where: { spuId, ...(c ? { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] } : {}) },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: first + 1,
    });
    const items = rows.slice(0, first);
    const last = items[items.length - 1];
    return { items, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? encode(last.createdAt, last.id) : null } };
  }

  /** Rating summaries of many SPUs in one query (the DataLoader batch). */
  async summaries(spuIds: readonly string[]): Promise<RatingSummary[]> {
    const groups = await this.d.prisma.review.groupBy({
      by: ["spuId", "rating"],
      where: { spuId: { in: [...new Set(spuIds)] } },
      _count: { _all: true },
    });
    const by = new Map<string, number[]>();
    for (const g of groups) {
      const dist = by.get(g.spuId) ?? [0, 0, 0, 0, 0];
      dist[g.rating - 1] = g._count._all;
      by.set(g.spuId, dist);
    }
    return spuIds.map((id) => {
      const distribution = by.get(id) ?? [0, 0, 0, 0, 0];
      const count = distribution.reduce((a, b) => a + b, 0);
      const sum = distribution.reduce((a, n, i) => a + n * (i + 1), 0);
      return { count, average: count ? (Math.round((sum * 100) / count) / 100).toFixed(2) : null, distribution };
    });
  }
}
