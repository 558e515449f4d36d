/** Per-request DataLoaders: entity references and nested fields cost one query per batch. */
import DataLoader from "dataloader";
import type { CatalogServices } from "./index.ts";

export function createLoaders(s: CatalogServices) {
  return {
    product: new DataLoader((ids: readonly string[]) => s.products.loadProducts(ids)),
    sku: new DataLoader((ids: readonly string[]) => s.products.loadSkus(ids)),
    rating: new DataLoader((ids: readonly string[]) => s.reviews.summaries(ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
