/**
 * The scopes of the live full-reduction campaigns, for the FULL_REDUCTION front category. They come
 * from the promotion subgraph's public `fullReductionCampaigns { scope scopeIds }` (service call with
 * a signed internal identity). Behind an interface so the front-category rule does not know the
 * transport.
 */
import type { Keys } from "@mallgraph/platform/auth";
import { logger } from "@mallgraph/platform/log";
import { createServiceClient, type ServiceClient } from "@mallgraph/platform/service-client";

export interface CampaignScope {
  scope: "ALL" | "CATEGORIES" | "SPUS";
  scopeIds: string[];
}

export interface CampaignScopeSource {
  /** Scopes of the campaigns live now. */
  scopes(): Promise<CampaignScope[]>;
}

const QUERY = `query CatalogFullReductionScopes { fullReductionCampaigns { scope scopeIds } }`;

export class PromotionCampaignScopeSource implements CampaignScopeSource {
  private client: ServiceClient;
  private log = logger("catalog-campaigns");
  constructor(opts: { url: string; secret: Keys }) {
    this.client = createServiceClient({ url: opts.url, secret: opts.secret, service: "catalog", timeoutMs: 3000 });
  }

  async scopes(): Promise<CampaignScope[]> {
    try {
      return (await this.client.request<{ fullReductionCampaigns: CampaignScope[] }>(QUERY, {})).fullReductionCampaigns;
    } catch (err) {
      // the shop's category list must not fail with promotion: the FULL_REDUCTION category is then empty
      this.log.warn({ err }, "full-reduction campaigns unavailable");
      return [];
    }
  }
}
