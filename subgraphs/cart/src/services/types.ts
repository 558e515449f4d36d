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
  totals: CartTotalsView;
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
