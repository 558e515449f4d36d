/**
 * The SKUs on seckill, for the SECKILL front category. They come from the promotion subgraph's
 * public `seckillSessions { status items { skuId } }` (service call with a signed internal
 * identity). Behind an interface so the front-category rule does not know the transport.
 */
import type { Keys } from "@mallgraph/platform/auth";
import { logger } from "@mallgraph/platform/log";
import { createServiceClient, type ServiceClient } from "@mallgraph/platform/service-client";

export interface SeckillSkuSource {
  /** SKU ids of seckill sessions that are online (first) or scheduled, in session order. */
  skuIds(): Promise<string[]>;
}

const QUERY = `query CatalogSeckillSkus { seckillSessions { status items { skuId } } }`;

export class PromotionSeckillSkuSource implements SeckillSkuSource {
  private client: ServiceClient;
  private log = logger("catalog-seckill");
  constructor(opts: { url: string; secret: Keys }) {
    this.client = createServiceClient({ url: opts.url, secret: opts.secret, service: "catalog", timeoutMs: 3000 });
  }

  async skuIds(): Promise<string[]> {
    try {
      const data = await this.client.request<{ seckillSessions: Array<{ status: string; items: Array<{ skuId: string }> }> }>(QUERY, {});
      const rank = (s: string) => (s === "ONLINE" ? 0 : 1);
      const live = data.seckillSessions
        .filter((s) => s.status === "ONLINE" || s.status === "SCHEDULED")
        .sort((a, b) => rank(a.status) - rank(b.status));
      return [...new Set(live.flatMap((s) => s.items.map((i) => i.skuId)))];
    } catch (err) {
      // the shop's category list must not fail with promotion: the SECKILL category is then empty
      this.log.warn({ err }, "seckill sessions unavailable");
      return [];
    }
  }
}
