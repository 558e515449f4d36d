/** The shared Redis subscriber of the live-event engine (see ./index.ts). */
import { eventChannel, type LiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import type { Redis } from "@mallgraph/platform/redis";

type Listener = (event: LiveEvent) => void;

/** One Redis subscriber connection for the whole process; channels are (un)subscribed on demand. */
export class LiveEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    sub.on("ready", () => log.info({ channels: [...this.listeners.keys()] }, "live-event subscriber connected"));
    sub.on("reconnecting", () => log.warn("live-event subscriber reconnecting (events published meanwhile are lost)"));
    sub.on("message", (channel: string, message: string) => {
      const set = this.listeners.get(channel);
      if (!set?.size) return;
      let event: LiveEvent;
      try {
        event = JSON.parse(message) as LiveEvent;
        if (!event || typeof event.eventId !== "string") throw new Error("no eventId");
      } catch (e) {
        this.log.warn({ channel, err: e }, "ignoring malformed live event");
        return;
      }
      for (const l of [...set]) l(event);
    });
  }

  /** Calls `listener` for every event of subscription field `field` until the returned function is called. */
  async listen(field: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = eventChannel(this.prefix, field);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (set.size === 1) {
      // Subscribe on a ready connection and check Redis counted it: a SUBSCRIBE queued while
      // the connection is still being set up is not something to take on trust.
      if (this.sub.status !== "ready") await new Promise<void>((resolve) => this.sub.once("ready", () => resolve()));
      const count = await this.sub.subscribe(channel);
      if (!(Number(count) >= 1)) throw new Error(`SUBSCRIBE ${channel} was not acknowledged`);
      this.log.info({ channel }, "subscribed to live events");
    }
    return async () => {
      const s = this.listeners.get(channel);
      if (!s || !s.delete(listener)) return;
      if (s.size === 0) {
        this.listeners.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.sub.disconnect();
  }
}
