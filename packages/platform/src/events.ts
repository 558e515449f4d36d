/**
 * Live events over Redis pub/sub. A service publishes after its transaction commits: the event id
 * and the keys needed to route and filter it (never the whole payload). The gateway subscribes and
 * resolves the payload through federation (see gateway/src/subscriptions/).
 *
 * Channel: `<prefix>:events:<subscriptionField>` — the name of the Subscription field that carries it.
 */
import type { Redis } from "./redis.ts";

export interface LiveEvent {
  /** Passed back to the subgraph's `<field>Event(…, eventId)` query to load the payload. */
  eventId: string;
  /** Argument values of the subscription field this event matches, e.g. `{ orderId: "…" }`. */
  keys: Record<string, string>;
  /** Member ids allowed to see it; absent means anyone who may subscribe. */
  audience?: string[];
  /** Session ids allowed to see it (e.g. the kicked session only); absent means no such limit. */
  sessions?: string[];
}

export function eventChannel(prefix: string, field: string): string {
  return `${prefix}:events:${field}`;
}

export async function publishLiveEvent(redis: Redis, prefix: string, field: string, event: LiveEvent): Promise<void> {
  await redis.publish(eventChannel(prefix, field), JSON.stringify(event));
}
