/**
 * What promotion offers other domains: `promotionPrice`'s input and quote as the callers read them
 * (promotion `schema.graphql`, the @inaccessible types; docs/decisions/0011-pricing-and-stacking.md).
 */
import { fieldsOf } from "./fields.ts";

/** `PriceLineInput`: a line as the pricing takes it. */
export interface PriceLine {
  skuId: string;
  spuId: string;
  /** Exact decimal in the quote's currency. */
  unitPrice: string;
  quantity: number;
}
export const PRICE_LINE_FIELDS = fieldsOf<PriceLine>()("skuId", "spuId", "unitPrice", "quantity");

/** `PriceQuoteCouponOption`: a held coupon, usable or why not. */
export interface PriceQuoteCouponOption {
  couponId: string;
  usable: boolean;
  reason: string | null;
  discount: string | null;
  payable: string | null;
}
export const PRICE_QUOTE_COUPON_OPTION_FIELDS = fieldsOf<PriceQuoteCouponOption>()("couponId", "usable", "reason", "discount", "payable");

/** `PriceQuote`: the price of lines with the live campaigns and an optional coupon (the fields callers read). */
export interface PriceQuote {
  currency: string;
  itemsTotal: string;
  campaignDiscount: string;
  discount: string;
  payable: string;
  /** In the order of the lines asked for. */
  lines: Array<{
    skuId: string;
    quantity: number;
    unitPrice: string;
    subtotal: string;
    campaignDiscount: string;
    couponDiscount: string;
    discount: string;
    payable: string;
  }>;
  promotions: Array<{ kind: "FULL_REDUCTION"; id: string; name: string; threshold: string; discount: string }>;
  coupon: { couponId: string; name: string; discount: string } | null;
  couponReason: string | null;
  bestCouponId: string | null;
  couponOptions: PriceQuoteCouponOption[];
}
export const PRICE_QUOTE_FIELDS = fieldsOf<PriceQuote>()(
  "currency",
  "itemsTotal",
  "campaignDiscount",
  "discount",
  "payable",
  "lines",
  "promotions",
  "coupon",
  "couponReason",
  "bestCouponId",
  "couponOptions",
);
