/** What the cart needs from other domains, behind small interfaces. */
import type { Keys } from "@mallgraph/platform/auth";
import { SKU_SNAPSHOTS_QUERY } from "@mallgraph/platform/contracts/catalog";
import { PROMOTION_PRICE_QUERY, type PromotionPriceAnswer } from "@mallgraph/platform/contracts/promotion";
import { createServiceClient } from "@mallgraph/platform/service-client";
import type { PriceLine, PriceQuote, SkuSnapshot } from "./types.ts";

export interface CatalogPort {
  /** In the order of `ids`, null for unknown SKUs. One call per cart view. */
  skuSnapshots(ids: string[]): Promise<Array<SkuSnapshot | null>>;
}

export function catalogPort(url: string, secret: Keys): CatalogPort {
  const client = createServiceClient({ url, secret, service: "cart" });
  return {
    async skuSnapshots(ids) {
      if (!ids.length) return [];
      const data = await client.request<{ skuSnapshots: Array<SkuSnapshot | null> }>(SKU_SNAPSHOTS_QUERY, { ids });
      return data.skuSnapshots;
    },
  };
}

export interface PromotionPort {
  /** promotionPrice: the member's lines priced with the live campaigns and an optional coupon. */
  price(a: {
    memberId: string;
    currency: string;
    lines: PriceLine[];
    couponId?: string | null;
    withCoupons?: boolean;
  }): Promise<PriceQuote>;
}

export function promotionPort(url: string, secret: Keys): PromotionPort {
  const client = createServiceClient({ url, secret, service: "cart" });
  return {
    async price(a) {
      const d = await client.request<PromotionPriceAnswer>(PROMOTION_PRICE_QUERY, {
        m: a.memberId,
        cur: a.currency,
        lines: a.lines,
        c: a.couponId ?? null,
        w: a.withCoupons ?? false,
      });
      return d.promotionPrice;
    },
  };
}
