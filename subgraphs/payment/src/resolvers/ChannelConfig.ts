import type { ChannelConfigResolvers } from "../generated/graphql.ts";

/** Secrets are write-only: only whether one is set is visible. */
export const ChannelConfig: ChannelConfigResolvers = {
  hasPrivateKey: (c) => !!c.privateKeyPem,
  hasApiV3Key: (c) => !!c.apiV3Key,
};
