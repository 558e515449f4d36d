/** The rain's live events: coalesced per rain, the payload kept in Redis for the gateway to resolve. */
import { randomUUID } from "node:crypto";
import { publishLiveEvent } from "@mallgraph/platform/events";
import { formatAmount } from "@mallgraph/platform/money";
import { EVENT_TTL_S, fromMinor, type RainContext, type RainEventPayload } from "./rain-shared.ts";

export class RainEvents {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly c: RainContext) {}

  /**
   * Coalesced: the first grab of a window arms a timer; when it fires, one event carries the rain's
   * state at that moment (remaining shares, last grab). At most one event per rain per window per
   * instance, and the last grab of a burst is always announced.
   */
  announce(rainId: string): void {
    if (this.pending.has(rainId)) return;
    const t = setTimeout(() => {
      this.pending.delete(rainId);
      this.publish(rainId).catch((e) => this.c.d.log.warn({ err: e, rainId }, "red-envelope event not published"));
    }, this.c.d.eventWindowMs ?? 250);
    this.pending.set(rainId, t);
  }

  async publish(rainId: string): Promise<string> {
    const { redis, redisPrefix } = this.c.d;
    const m = await redis.hmget(this.c.keys.meta(rainId), "remaining", "lastAmount", "lastMember", "lastAt", "currency");
    const [remaining, lastAmount, lastMember, lastAt, currency] = m;
    const payload: RainEventPayload = {
      rainId,
      remainingShares: Number(remaining ?? 0),
      lastGrab:
        lastAmount && currency && lastMember
          ? {
              amount: formatAmount(fromMinor(lastAmount, currency), currency),
              memberId: lastMember,
              at: new Date(Number(lastAt)).toISOString(),
            }
          : null,
    };
    const eventId = randomUUID();
    await redis.set(this.c.keys.event(rainId, eventId), JSON.stringify(payload), "EX", EVENT_TTL_S);
    await publishLiveEvent(redis, redisPrefix, "redEnvelopeRain", { eventId, keys: { rainId } });
    return eventId;
  }

  async event(rainId: string, eventId: string): Promise<RainEventPayload | null> {
    const raw = await this.c.d.redis.get(this.c.keys.event(rainId, eventId));
    return raw ? (JSON.parse(raw) as RainEventPayload) : null;
  }

  /** Publishes what is pending at once (shutdown). */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const [, t] of this.pending) clearTimeout(t);
    this.pending.clear();
    await Promise.all(ids.map((id) => this.publish(id).catch(() => undefined)));
  }
}
