import type { SessionEventResolvers } from "../generated/graphql.ts";

export const SessionEvent: SessionEventResolvers = {
  device: (e) => e.device as "WEB" | "APP" | "MINI_PROGRAM",
};
