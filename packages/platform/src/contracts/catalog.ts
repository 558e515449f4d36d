/**
 * What the catalog offers other domains: its internal service fields' types as the callers read
 * them (catalog `schema.graphql`, the @inaccessible types; docs/service-contracts.md). Cart, order
 * and promotion import these instead of keeping copies; a provider-side change shows up in
 * contracts.test.ts and in every caller's typecheck.
 */
import { fieldsOf, selection, type FieldList } from "./fields.ts";

/** `SkuSnapshot`: what a SKU is now (price, shelf, stock), read by cart, order and promotion. */
export interface SkuSnapshot {
  id: string;
  spuId: string;
  title: string;
  /** Exact decimal in `currency`. */
  price: string;
  currency: string;
  onShelf: boolean;
  available: number;
  image: string | null;
}
export const SKU_SNAPSHOT_FIELDS = fieldsOf<SkuSnapshot>()("id", "spuId", "title", "price", "currency", "onShelf", "available", "image");

/** `skuSnapshots(ids)` reading these fields (a caller that reads fewer types its answer with `Pick<SkuSnapshot, …>`). Variable `ids`. */
export const skuSnapshotsQuery = (fields: FieldList<SkuSnapshot>) => `query($ids: [ID!]!) { skuSnapshots(ids: $ids) ${selection(fields)} }`;
/** `skuSnapshots(ids)`: in the order of ids, null for unknown SKUs (at most 500 ids). */
export const SKU_SNAPSHOTS_QUERY = skuSnapshotsQuery(SKU_SNAPSHOT_FIELDS);

/** `SpuScope`: an SPU's category path (leaf first) and its SKUs' currencies (promotion's scopes). */
export interface SpuScope {
  spuId: string;
  categoryIds: string[];
  currencies: string[];
}
export const SPU_SCOPE_FIELDS = fieldsOf<SpuScope>()("spuId", "categoryIds", "currencies");

/** `spuScopes(spuIds)`: in the order of ids, null for unknown SPUs. Variable `ids`. */
export const SPU_SCOPES_QUERY = `query($ids: [ID!]!) { spuScopes(spuIds: $ids) ${selection(SPU_SCOPE_FIELDS)} }`;
export interface SpuScopesAnswer {
  spuScopes: Array<SpuScope | null>;
}

/** `StockLineInput`: a quantity of one SKU (reservations, cart lines). */
export interface StockLine {
  skuId: string;
  quantity: number;
}
export const STOCK_LINE_FIELDS = fieldsOf<StockLine>()("skuId", "quantity");

/** `StockReservationResult` as reservers read it. */
export interface ReserveResult {
  /** OK | OUT_OF_STOCK | NOT_FOUND | OFF_SHELF | BAD_QUANTITY | RELEASED */
  code: string;
  failedSkuId: string | null;
}
export const RESERVE_RESULT_FIELDS = fieldsOf<ReserveResult>()("code", "failedSkuId");

/** `inventoryReserve(key, lines, ttlSeconds)`: reserves every line or none, idempotent per key. Variables `key lines ttl`. */
export const INVENTORY_RESERVE_MUTATION = `mutation($key: String!, $lines: [StockLineInput!]!, $ttl: Int!) { inventoryReserve(key: $key, lines: $lines, ttlSeconds: $ttl) ${selection(RESERVE_RESULT_FIELDS)} }`;
export interface InventoryReserveAnswer {
  inventoryReserve: ReserveResult;
}
/** `ReservedSku`: a reserved SKU's price and display facts, read in the reservation's own statement (order's direct buy). */
export interface ReservedSku {
  skuId: string;
  spuId: string;
  title: string;
  /** Exact decimal in `currency`. */
  price: string;
  currency: string;
  image: string | null;
}
export const RESERVED_SKU_FIELDS = fieldsOf<ReservedSku>()("skuId", "spuId", "title", "price", "currency", "image");

/** A reservation's answer with its SKUs: `skus` when code is OK (each SKU of the lines, first occurrence order), else null. */
export interface PricedReserveResult extends ReserveResult {
  skus: ReservedSku[] | null;
}
/**
 * `inventoryReserve` reading the reserved SKUs' prices too: one call reserves and prices a direct buy
 * (decision 0049). Variables `key lines ttl`.
 */
export const INVENTORY_RESERVE_PRICED_MUTATION = `mutation($key: String!, $lines: [StockLineInput!]!, $ttl: Int!) { inventoryReserve(key: $key, lines: $lines, ttlSeconds: $ttl) { ${RESERVE_RESULT_FIELDS.join(" ")} skus ${selection(RESERVED_SKU_FIELDS)} } }`;
export interface InventoryReservePricedAnswer {
  inventoryReserve: PricedReserveResult;
}
/** `inventoryRelease(key)`: reserved → available; true when the reservation is released (now or before), false when it was confirmed. Variable `key`. */
export const INVENTORY_RELEASE_MUTATION = `mutation($key: String!) { inventoryRelease(key: $key) }`;
export interface InventoryReleaseAnswer {
  inventoryRelease: boolean;
}
/** `inventoryConfirm(key)`: reserved → sold; true when the reservation is confirmed (now or before). Variable `key`. */
export const INVENTORY_CONFIRM_MUTATION = `mutation($key: String!) { inventoryConfirm(key: $key) }`;
export interface InventoryConfirmAnswer {
  inventoryConfirm: boolean;
}
/** `inventoryReturn(key, skuId, quantity)`: sold stock back to available, idempotent per key. Variables `key s q`. */
export const INVENTORY_RETURN_MUTATION = `mutation($key: String!, $s: ID!, $q: Int!) { inventoryReturn(key: $key, skuId: $s, quantity: $q) }`;
export interface InventoryReturnAnswer {
  inventoryReturn: boolean;
}
