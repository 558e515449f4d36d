/**
 * Quotes: gathers what the pricing function needs for a member's lines — the live campaigns of the
 * currency, the coupon asked for (the member's own only), the member's held coupons (withCoupons),
 * and, only when some scope is CATEGORIES, each SPU's category path from catalog — and calls the
 * pure function (services/pricing.ts). Served as the internal field `promotionPrice` to cart and order.
 */
import { badInput } from "@mallgraph/platform/errors";
import { currencyDecimals, parseAmount } from "@mallgraph/platform/money";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { campaignRule, type CampaignService } from "./campaigns.ts";
import { couponRule } from "./coupons.ts";
import type { CatalogPort } from "./ports.ts";
import { couponOptions, price, type CouponOption, type PriceLineInput, type PriceResult } from "./pricing.ts";

export const MAX_QUOTE_LINES = 200;

export interface QuoteLineArg {
  skuId: string;
  spuId: string;
  unitPrice: string;
  quantity: number;
}

export interface QuoteArgs {
  memberId: string;
  currency: string;
  lines: readonly QuoteLineArg[];
  couponId?: string | null;
  withCoupons?: boolean | null;
  now?: Date;
}

export interface QuoteView extends PriceResult {
  bestCouponId: string | null;
  couponOptions: CouponOption[];
}

export class PricingService {
  constructor(private readonly d: { prisma: PrismaClient; catalog: CatalogPort; campaigns: CampaignService }) {}

  async quote(a: QuoteArgs): Promise<QuoteView> {
    if (typeof a.memberId !== "string" || !a.memberId || a.memberId.length > 64)
      throw badInput("memberId must be a non-empty id", { field: "memberId" });
    currencyDecimals(a.currency);
    if (a.lines.length > MAX_QUOTE_LINES) throw badInput(`at most ${MAX_QUOTE_LINES} lines`, { field: "lines" });
    for (const l of a.lines) {
      for (const [f, v] of [
        ["skuId", l.skuId],
        ["spuId", l.spuId],
      ] as const)
        if (typeof v !== "string" || !v || v.length > 64) throw badInput(`lines.${f} must be a non-empty id`, { field: `lines.${f}` });
      if (!Number.isInteger(l.quantity) || l.quantity < 1 || l.quantity > 99_999)
        throw badInput("lines.quantity must be a positive integer", { field: "lines.quantity" });
      parseAmount(l.unitPrice, a.currency, { field: "lines.unitPrice", allowZero: true });
    }
    const now = a.now ?? new Date();
    const [campaignRows, asked, held] = await Promise.all([
      this.d.campaigns.live(now, a.currency),
      a.couponId ? this.d.prisma.coupon.findUnique({ where: { id: a.couponId }, include: { template: true } }) : null,
      a.withCoupons
        ? this.d.prisma.coupon.findMany({
            where: { memberId: a.memberId, OR: [{ status: "UNUSED", validTo: { gt: now } }, { status: "LOCKED" }] },
            include: { template: true },
            orderBy: [{ validTo: "asc" }, { id: "asc" }],
            take: 100,
          })
        : [],
    ]);
    const campaigns = campaignRows.map(campaignRule);
    const coupon = asked && asked.memberId === a.memberId ? couponRule(asked) : null;
    const coupons = held.map(couponRule);
    const needPaths = [...campaigns, ...coupons, ...(coupon ? [coupon] : [])].some((r) => r.scope === "CATEGORIES");
    const lines = await this.withCategories(a.lines, needPaths);
    const input = { currency: a.currency, lines, campaigns, now };
    const result = price({ ...input, coupon });
    if (a.couponId && !coupon) result.couponReason = "NOT_FOUND";
    const options = a.withCoupons ? couponOptions(input, coupons) : { options: [], bestCouponId: null };
    return { ...result, bestCouponId: options.bestCouponId, couponOptions: options.options };
  }

  /** Adds each line's category path (one catalog call) when a CATEGORIES scope is involved. */
  private async withCategories(lines: readonly QuoteLineArg[], need: boolean): Promise<PriceLineInput[]> {
    if (!need || !lines.length) return lines.map((l) => ({ ...l, categoryIds: [] }));
    const spuIds = [...new Set(lines.map((l) => l.spuId))];
    const scopes = await this.d.catalog.spuScopes(spuIds);
    const paths = new Map(spuIds.map((id, i) => [id, scopes[i]?.categoryIds ?? []]));
    return lines.map((l) => ({ ...l, categoryIds: paths.get(l.spuId) ?? [] }));
  }
}
