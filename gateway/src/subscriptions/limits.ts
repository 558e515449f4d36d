/**
 * Limits on live connections (decision 0025): what one client may hold open on one gateway instance,
 * so a flood from one client is refused early and leaves the others' queries and events on time.
 *
 * - sockets per instance (`maxConnections`) and per client address on the instance
 *   (`connectionsPerIp`, counted from the moment the socket opens, handshake finished or not), and
 *   per authenticated caller — member, operator or partner key — over every instance
 *   (`connectionsPerCaller`, counted once `connection_init` authenticated it; leases in Redis,
 *   ./caller-leases.ts, decision 0033);
 * - operations in flight per socket (`subscriptionsPerConnection`: subscriptions plus queries);
 * - the time from opening the socket to `connection_init` (`initTimeoutMs`) and the size of one
 *   client message (`maxMessageBytes`);
 * - live-event executions: at most `eventConcurrency` at once, callers taking turns (FairScheduler),
 *   so one caller's many subscriptions cannot push everyone else's events back; identical ones
 *   (same identity, document, variables and event) run once (Coalescer);
 * - Subscription fields tagged `@tag(name: "signed-in")` in their subgraph need a member or operator
 *   session: an anonymous or partner socket asking for one is closed with 4403.
 *
 * The per-instance and per-address counts live in this process (a crashed instance leaves nothing to
 * clean up): they bound each instance's sockets, and behind a load balancer each instance holds its
 * own. The per-caller count is shared by the instances (a caller's sockets may land on any of them).
 */
import { graphql } from "../graphql.ts";

export interface LiveLimits {
  /** Open sockets on this gateway instance. */
  maxConnections: number;
  /** Open sockets per client address (TRUSTED_PROXIES decide the address). */
  connectionsPerIp: number;
  /** Open sockets per member, operator or partner key, over every gateway instance. */
  connectionsPerCaller: number;
  /** Operations in flight on one socket (subscriptions and queries). */
  subscriptionsPerConnection: number;
  /** Milliseconds from opening the socket to the client's `connection_init`. */
  initTimeoutMs: number;
  /** Largest message a client may send, in bytes (larger: the socket is closed with 1009). */
  maxMessageBytes: number;
  /** Live-event executions running at once on this instance, shared fairly between callers. */
  eventConcurrency: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxConnections: 10_000,
  connectionsPerIp: 50,
  connectionsPerCaller: 5,
  subscriptionsPerConnection: 10,
  initTimeoutMs: 3_000,
  maxMessageBytes: 256 * 1024,
  eventConcurrency: 32,
};

/**
 * Close codes the gateway sends on graphql-ws sockets (graphql-ws's own where one fits;
 * docs/gateway.md lists them).
 */
export const CloseCode = {
  /** Bad, expired or revoked access token, unknown or revoked API key. */
  Unauthorized: 4401,
  /** A Subscription field that needs a signed-in member or operator, on an anonymous or partner socket. */
  Forbidden: 4403,
  /** No `connection_init` within `initTimeoutMs` (graphql-ws sends it). */
  InitTimeout: 4408,
  /** Too many sockets (instance, address or caller), the connect rate limit, or a subscriber too slow for its events. */
  TooMany: 4429,
  /** The gateway could not check the credentials (JWKS or Redis unreachable). */
  Unavailable: 4503,
} as const;

export type RefusalReason = "connections" | "ip" | "caller";

/** Counts of open sockets per instance and address; entries at zero are dropped. */
export class ConnectionCounter {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: LiveLimits) {}

  get open(): number {
    return this.total;
  }

  /** A socket opened from `ip`: takes its slots, or names the limit it would pass (taking nothing). */
  opened(ip: string): RefusalReason | undefined {
    if (this.total >= this.limits.maxConnections) return "connections";
    if ((this.perIp.get(ip) ?? 0) >= this.limits.connectionsPerIp) return "ip";
    this.total++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    return undefined;
  }

  /** The socket closed: gives back what it took. */
  closed(ip: string): void {
    this.total--;
    release(this.perIp, ip);
  }
}

function release(map: Map<string, number>, key: string) {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

export const SIGNED_IN_TAG = "signed-in";

/** Subscription fields the supergraph tags `@tag(name: "signed-in")` (read once at start). */
export function signedInSubscriptions(supergraphSdl: string): Set<string> {
  const fields = new Set<string>();
  const { Kind, parse } = graphql;
  for (const def of parse(supergraphSdl, { noLocation: true }).definitions) {
    if ((def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) || def.name.value !== "Subscription")
      continue;
    for (const field of def.fields ?? []) {
      const tagged = field.directives?.some(
        (d) =>
          d.name.value === "tag" &&
          d.arguments?.some((a) => a.name.value === "name" && a.value.kind === Kind.STRING && a.value.value === SIGNED_IN_TAG),
      );
      if (tagged) fields.add(field.name.value);
    }
  }
  return fields;
}

/**
 * Runs live-event executions at most `concurrency` at a time, taking turns between callers (round
 * robin): a caller with hundreds of events queued waits behind its own backlog, not in front of
 * everyone else's next event. A caller whose backlog outgrows its buffers is dropped (4429).
 */
export class FairScheduler {
  private running = 0;
  /** Waiting runs per caller; the Map's order is the turn order. */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly concurrency: number) {}

  async run<T>(caller: string, fn: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency && this.waiting.size === 0) this.running++;
    else
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(caller);
        if (queue) queue.push(resolve);
        else this.waiting.set(caller, [resolve]);
      });
    try {
      return await fn();
    } finally {
      this.handOver();
    }
  }

  /** Gives the finished run's slot to the next caller in turn, who then goes to the back of the line. */
  private handOver() {
    const next = this.waiting.entries().next();
    if (next.done) {
      this.running--;
      return;
    }
    const [caller, queue] = next.value;
    const resolve = queue.shift();
    this.waiting.delete(caller);
    if (!resolve) {
      // a caller is in `waiting` only with a non-empty queue; were it not, the slot is simply freed
      this.running--;
      return;
    }
    if (queue.length) this.waiting.set(caller, queue);
    resolve();
  }
}

/**
 * Lets identical executions share one run: a run started less than `keepMs` ago under the same key
 * answers the later callers too (subscribers with the same identity, document and variables get
 * the same payload for an event). At most `max` keys are remembered, oldest dropped first.
 */
export class Coalescer<T> {
  private readonly recent = new Map<string, { at: number; result: Promise<T> }>();

  constructor(
    private readonly keepMs = 2_000,
    private readonly max = 10_000,
  ) {}

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.recent.get(key);
    if (hit && now - hit.at < this.keepMs) return hit.result;
    const result = fn();
    this.recent.delete(key);
    this.recent.set(key, { at: now, result });
    // a failed run is not shared with later callers
    result.catch(() => this.recent.get(key)?.result === result && this.recent.delete(key));
    for (const [k, v] of this.recent) {
      if (this.recent.size <= this.max && now - v.at < this.keepMs) break;
      this.recent.delete(k);
    }
    return result;
  }
}
