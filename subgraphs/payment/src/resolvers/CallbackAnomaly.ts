import type { CallbackAnomalyResolvers } from "../generated/graphql.ts";

export const CallbackAnomaly: CallbackAnomalyResolvers = {
  createdAt: (a) => a.createdAt.toISOString(),
};
