/**
 * The catalog's error reasons. Errors travel with a shared `extensions.code` (platform errors.ts)
 * plus a catalog `reason` that names the rule; business outcomes of internal calls travel as a
 * result `code` (StockReservationResult, AddReviewResult).
 */
import { AppError, ErrorCode, badInput, defineErrorCodes, notFound } from "@mallgraph/platform/errors";

/** Catalog's own error code (decision 0030); the rule it breaks is the `reason`. */
export const CatalogErrorCode = defineErrorCodes({
  INVALID_STATE:
    "The product's shelf status does not allow this (a product without SKUs cannot go on shelf; only one on shelf can be taken off); `extensions.reason` names the rule. Nothing changed.",
});

export const Reason = {
  CATEGORY_CYCLE: "CATEGORY_CYCLE",
  CATEGORY_TOO_DEEP: "CATEGORY_TOO_DEEP",
  CATEGORY_HAS_CHILDREN: "CATEGORY_HAS_CHILDREN",
  CATEGORY_HAS_PRODUCTS: "CATEGORY_HAS_PRODUCTS",
  CATEGORY_NOT_LEAF: "CATEGORY_NOT_LEAF",
  CATEGORY_IN_USE: "CATEGORY_IN_USE",
  ATTRIBUTE_MISMATCH: "ATTRIBUTE_MISMATCH",
  SKU_CODE_TAKEN: "SKU_CODE_TAKEN",
  BRAND_NAME_TAKEN: "BRAND_NAME_TAKEN",
  PRODUCT_HAS_NO_SKU: "PRODUCT_HAS_NO_SKU",
  INVALID_TRANSITION: "INVALID_TRANSITION",
  BAD_QUANTITY: "BAD_QUANTITY",
  BAD_PRICE: "BAD_PRICE",
  CURRENCY_MISMATCH: "CURRENCY_MISMATCH",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export const refuse = (reason: Reason, message: string, extra?: Record<string, unknown>) => badInput(message, { reason, ...extra });
export const conflict = (reason: Reason, message: string) => new AppError(ErrorCode.CONFLICT, message, { reason });
export const invalidState = (reason: Reason, message: string) => new AppError(CatalogErrorCode.INVALID_STATE, message, { reason });
export const alreadyExists = (reason: Reason, message: string) => new AppError(ErrorCode.ALREADY_EXISTS, message, { reason });
export { badInput, notFound };

/** Stable result codes of internal inventory calls (docs/service-contracts.md). */
export const StockCode = {
  OK: "OK",
  OUT_OF_STOCK: "OUT_OF_STOCK",
  NOT_FOUND: "NOT_FOUND",
  OFF_SHELF: "OFF_SHELF",
  BAD_QUANTITY: "BAD_QUANTITY",
  RELEASED: "RELEASED",
} as const;

export const ReviewCode = { OK: "OK", NOT_PURCHASED: "NOT_PURCHASED", ALREADY_REVIEWED: "ALREADY_REVIEWED" } as const;

/** Validates a non-negative (or positive) int quantity. */
export function assertQuantity(q: unknown, field: string, opts: { allowZero?: boolean } = {}): number {
  if (typeof q !== "number" || !Number.isInteger(q) || q < 0 || (!opts.allowZero && q === 0) || q > 1_000_000_000) {
    throw refuse(Reason.BAD_QUANTITY, `${field} must be a ${opts.allowZero ? "non-negative" : "positive"} integer`, { field });
  }
  return q;
}

export function assertText(v: unknown, field: string, max = 500): string {
  if (typeof v !== "string" || !v.trim()) throw badInput(`${field} must not be empty`, { field });
  if (v.length > max) throw badInput(`${field} is longer than ${max} characters`, { field });
  return v.trim();
}
