/** What the cart needs from other domains, behind small interfaces. */
import { createServiceClient } from "@mallgraph/platform/service-client";
import type { SkuSnapshot } from "./types.ts";

export interface CatalogPort {
  /** In the order of `ids`, null for unknown SKUs. One call per cart view. */
  skuSnapshots(ids: string[]): Promise<Array<SkuSnapshot | null>>;
}

export function catalogPort(url: string, secret: string): CatalogPort {
  const client = createServiceClient({ url, secret, service: "cart" });
  return {
    async skuSnapshots(ids) {
      if (!ids.length) return [];
      const data = await client.request<{ skuSnapshots: Array<SkuSnapshot | null> }>(
        `query($ids: [ID!]!) { skuSnapshots(ids: $ids) { id spuId title price currency onShelf available image } }`,
        { ids },
      );
      return data.skuSnapshots;
    },
  };
}
