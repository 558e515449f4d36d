/** Plain domain shapes of the cart (no GraphQL types here). */

export type CartLineStatus = "OK" | "OFF_SHELF" | "OUT_OF_STOCK" | "NOT_FOUND";

/** One stored line: what Redis keeps. */
export interface StoredLine {
  skuId: string;
  quantity: number;
  checked: boolean;
  addedAt: number;
}

export interface CartLineView extends StoredLine {
  spuId: string | null;
  unitPrice: string | null;
  subtotal: string | null;
  currency: string | null;
  status: CartLineStatus;
}

export interface CartTotalsView {
  itemsTotal: string;
  discount: string;
  payable: string;
  currency: string;
  checkedQuantity: number;
}

export interface CartView {
  id: string;
  items: CartLineView[];
  /** The lines the totals and the pricing cover: checked, SKU known and on shelf, in `currency`. */
  priced: PriceLine[];
  currency: string;
  itemsTotal: string;
  checkedQuantity: number;
}

/** A line as promotion's pricing takes it (PriceLineInput). */
export interface PriceLine {
  skuId: string;
  spuId: string;
  unitPrice: string;
  quantity: number;
}

/** Promotion's internal PriceQuote (docs/decisions/0011-pricing-and-stacking.md). */
export interface PriceQuote {
  currency: string;
  itemsTotal: string;
  campaignDiscount: string;
  discount: string;
  payable: string;
  lines: Array<{ skuId: string; quantity: number; unitPrice: string; subtotal: string; campaignDiscount: string; couponDiscount: string; discount: string; payable: string }>;
  promotions: Array<{ kind: "FULL_REDUCTION"; id: string; name: string; threshold: string; discount: string }>;
  coupon: { couponId: string; name: string; discount: string } | null;
  couponReason: string | null;
  bestCouponId: string | null;
  couponOptions: PriceQuoteCouponOption[];
}

export interface PriceQuoteCouponOption {
  couponId: string;
  usable: boolean;
  reason: string | null;
  discount: string | null;
  payable: string | null;
}

export type CartCode =
  | "OK"
  | "OUT_OF_STOCK"
  | "NOT_FOUND"
  | "OFF_SHELF"
  | "SECKILL_NOT_ALLOWED"
  | "BAD_QUANTITY"
  | "CART_FULL"
  | "NOT_IN_CART";

export interface CartOutcome {
  code: CartCode;
  message: string | null;
  cart: CartView;
}

/** The catalog's internal `SkuSnapshot` (docs/service-contracts.md). */
export interface SkuSnapshot {
  id: string;
  spuId: string | null;
  title: string;
  price: string;
  currency: string;
  onShelf: boolean;
  available: number;
  image: string | null;
}
