/** The order domain's result codes (business outcomes travel as `code`, never as errors). */
export const OrderCode = {
  OK: "OK",
  OUT_OF_STOCK: "OUT_OF_STOCK",
  NOT_FOUND: "NOT_FOUND",
  OFF_SHELF: "OFF_SHELF",
  SECKILL_NOT_ALLOWED: "SECKILL_NOT_ALLOWED",
  BAD_QUANTITY: "BAD_QUANTITY",
  EMPTY_CART: "EMPTY_CART",
  ADDRESS_NOT_FOUND: "ADDRESS_NOT_FOUND",
  NO_ADDRESS: "NO_ADDRESS",
  MIXED_CURRENCY: "MIXED_CURRENCY",
  COUPON_UNAVAILABLE: "COUPON_UNAVAILABLE",
  PRICE_CHANGED: "PRICE_CHANGED",
  INVALID_STATE: "INVALID_STATE",
  ALREADY_REQUESTED: "ALREADY_REQUESTED",
  INVALID_AMOUNT: "INVALID_AMOUNT",
  NOTHING_TO_REFUND: "NOTHING_TO_REFUND",
} as const;
export type OrderCode = (typeof OrderCode)[keyof typeof OrderCode];
/** What placeOrder answers (the schema's PlaceOrderResultCode). */
export type PlaceCode = Extract<
  OrderCode,
  | "OK"
  | "OUT_OF_STOCK"
  | "NOT_FOUND"
  | "OFF_SHELF"
  | "SECKILL_NOT_ALLOWED"
  | "BAD_QUANTITY"
  | "EMPTY_CART"
  | "ADDRESS_NOT_FOUND"
  | "MIXED_CURRENCY"
  | "COUPON_UNAVAILABLE"
  | "PRICE_CHANGED"
>;
const PLACE_CODES: ReadonlySet<string> = new Set<PlaceCode>([
  "OK",
  "OUT_OF_STOCK",
  "NOT_FOUND",
  "OFF_SHELF",
  "SECKILL_NOT_ALLOWED",
  "BAD_QUANTITY",
  "EMPTY_CART",
  "ADDRESS_NOT_FOUND",
  "MIXED_CURRENCY",
  "COUPON_UNAVAILABLE",
  "PRICE_CHANGED",
]);
export const isPlaceCode = (code: string): code is PlaceCode => PLACE_CODES.has(code);
/** What an order's state changes answer (OrderResultCode). */
export type ChangeCode = Extract<OrderCode, "OK" | "INVALID_STATE" | "NOT_FOUND">;
/** What the after-sales operations answer (AfterSaleResultCode). */
export type AfterSaleCode = Extract<
  OrderCode,
  "OK" | "INVALID_STATE" | "NOT_FOUND" | "ALREADY_REQUESTED" | "BAD_QUANTITY" | "NOTHING_TO_REFUND"
>;

export const ORDER_MESSAGES: Record<string, string> = {
  OUT_OF_STOCK: "not enough stock",
  NOT_FOUND: "no such SKU or order",
  OFF_SHELF: "the product is off the shelf",
  SECKILL_NOT_ALLOWED: "flash-sale (seckill) items are bought through their seckill session",
  BAD_QUANTITY: "quantity out of range",
  EMPTY_CART: "no checked lines in the cart",
  ADDRESS_NOT_FOUND: "no such address for this member",
  NO_ADDRESS: "the member has no default address",
  MIXED_CURRENCY: "all items of one order must share a currency",
  COUPON_UNAVAILABLE: "the coupon cannot be used for this order",
  PRICE_CHANGED: "the price changed since it was shown (see quote); place the order again to accept it",
  INVALID_STATE: "the order's status does not allow this",
  ALREADY_REQUESTED: "an after-sales request of this order is already open",
  INVALID_AMOUNT: "the amount exceeds what can be refunded",
  NOTHING_TO_REFUND: "every unit asked for is already under an after-sales request",
};

export const message = (code: string): string | null => (code === OrderCode.OK ? null : (ORDER_MESSAGES[code] ?? code));
