/** The cart's result codes (business outcomes travel as `code`, never as errors). */
export const CartCode = {
  OK: "OK",
  OUT_OF_STOCK: "OUT_OF_STOCK",
  NOT_FOUND: "NOT_FOUND",
  OFF_SHELF: "OFF_SHELF",
  SECKILL_NOT_ALLOWED: "SECKILL_NOT_ALLOWED",
  BAD_QUANTITY: "BAD_QUANTITY",
  CART_FULL: "CART_FULL",
  NOT_IN_CART: "NOT_IN_CART",
} as const;

export const CART_MESSAGES: Record<string, string> = {
  OK: "ok",
  OUT_OF_STOCK: "not enough stock: the quantity was left as it was",
  NOT_FOUND: "no such SKU",
  OFF_SHELF: "the product is off the shelf",
  SECKILL_NOT_ALLOWED: "flash-sale (seckill) items cannot be put in the cart; buy them in the seckill session",
  BAD_QUANTITY: "quantity must be between 1 and the per-line maximum",
  CART_FULL: "the cart holds the maximum number of lines",
  NOT_IN_CART: "that SKU is not in the cart",
};
