import type { FullReductionCampaignResolvers } from "../generated/graphql.ts";
import { campaignStatus, campaignTiers } from "../services/campaigns.ts";

export const FullReductionCampaign: FullReductionCampaignResolvers = {
  tiers: (c) => campaignTiers(c),
  startsAt: (c) => c.startsAt.toISOString(),
  endsAt: (c) => c.endsAt.toISOString(),
  endedAt: (c) => c.endedAt?.toISOString() ?? null,
  status: (c) => campaignStatus(c),
};
