/** Plain domain shapes of the cart (no GraphQL types here). */

/** What cart reads from catalog and promotion: their contracts (docs/service-contracts.md). */
import type { PriceLine } from "@mallgraph/platform/contracts/promotion";

export type { SkuSnapshot } from "@mallgraph/platform/contracts/catalog";
export type { PriceLine, PriceQuote, PriceQuoteCouponOption } from "@mallgraph/platform/contracts/promotion";

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

export type CartCode =
  "OK" | "OUT_OF_STOCK" | "NOT_FOUND" | "OFF_SHELF" | "SECKILL_NOT_ALLOWED" | "BAD_QUANTITY" | "CART_FULL" | "NOT_IN_CART";

export interface CartOutcome {
  code: CartCode;
  message: string | null;
  cart: CartView;
}
