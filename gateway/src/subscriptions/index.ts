/**
 * Subscriptions, run by the gateway (Apollo Gateway composes Subscription fields but does not execute
 * them). One generic rule, from docs/service-contracts.md — no per-domain code here:
 *
 *   the subgraph owning `Subscription.F(args): T` also serves `Query.FEvent(args, eventId: ID!): T`
 *   (guarded by asGatewayEvent) and publishes `LiveEvent { eventId, keys, audience?, sessions? }` on
 *   Redis channel `<REDIS_PREFIX>:events:F` after its transaction commits.
 *
 * For `subscription { F(args) { …selection } }` the gateway (1) authenticates the graphql-ws
 * connection (connectionParams.authorization, same verification as HTTP), (2) listens on the channel
 * through ONE shared Redis subscriber connection per gateway process, (3) drops events whose keys
 * differ from the client's arguments, whose audience lacks the subscriber's id or whose sessions lack
 * the subscriber's session, (4) rewrites the document once into
 * `query { F: FEvent(args, eventId: $__eventId) { …selection } }` and runs it per event through the
 * gateway's normal federated executor with the identity captured at connect time plus
 * `service: "gateway"`, and (5) pushes the result. A client whose buffer of undelivered events
 * overflows is disconnected (close code 4429), so a slow client cannot hold the gateway's memory.
 *
 * Files by job: hub.ts (the shared Redis subscriber), plan.ts (the rewrite and the per-subscriber
 * filter), stream.ts (one client's bounded queue of events), server.ts (graphql-ws: connections and
 * operations), limits.ts (what one client may hold open, close codes; decision 0025).
 */
export { LiveEventHub } from "./hub.ts";
export { EVENT_ID_VARIABLE, eventMatches, planSubscription, type SubscriptionPlan } from "./plan.ts";
export type { Execute } from "./stream.ts";
export { attachSubscriptionServer, type SubscriptionServerOptions } from "./server.ts";
export { CloseCode, DEFAULT_LIVE_LIMITS, signedInSubscriptions, type LiveLimits } from "./limits.ts";
