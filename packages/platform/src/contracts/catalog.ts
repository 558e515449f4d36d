/**
 * What the catalog offers other domains: its internal service fields' types as the callers read
 * them (catalog `schema.graphql`, the @inaccessible types; docs/service-contracts.md). Cart, order
 * and promotion import these instead of keeping copies; a provider-side change shows up in
 * contracts.test.ts and in every caller's typecheck.
 */
import { fieldsOf, selection } from "./fields.ts";

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

/** `skuSnapshots(ids)`: in the order of ids, null for unknown SKUs (at most 500 ids). */
export const SKU_SNAPSHOTS_QUERY = `query($ids: [ID!]!) { skuSnapshots(ids: $ids) ${selection(SKU_SNAPSHOT_FIELDS)} }`;

/** `SpuScope`: an SPU's category path (leaf first) and its SKUs' currencies (promotion's scopes). */
export interface SpuScope {
  spuId: string;
  categoryIds: string[];
  currencies: string[];
}
export const SPU_SCOPE_FIELDS = fieldsOf<SpuScope>()("spuId", "categoryIds", "currencies");

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
