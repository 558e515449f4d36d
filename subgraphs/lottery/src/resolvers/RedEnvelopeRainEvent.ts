import type { RedEnvelopeRainEventResolvers } from "../generated/graphql.ts";

export const RedEnvelopeRainEvent: RedEnvelopeRainEventResolvers = {
  // A grab's member id is shown to that member only.
  lastGrab: (e, _a, ctx) =>
    e.lastGrab
      ? { ...e.lastGrab, memberId: ctx.identity.kind === "member" && ctx.identity.id === e.lastGrab.memberId ? e.lastGrab.memberId : null }
      : null,
};
