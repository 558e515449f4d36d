/**
 * Gateway-only settings (environment, validated; defaults suit a developer machine). The shared
 * ones — ports, REDIS_PREFIX, RATE_LIMIT_PER_MINUTE, MAX_QUERY_DEPTH/COST — are in the platform config.
 */
import { z } from "zod";
import { parseTrustedProxies } from "./client-ip.ts";
import type { GatewayOptions } from "./index.ts";

const schema = z.object({
  /** Time-out of one request to a subgraph. */
  GATEWAY_SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Consecutive failures that open a subgraph's circuit. */
  GATEWAY_CIRCUIT_FAILURES: z.coerce.number().int().positive().default(5),
  /** How long an open circuit fails fast before one trial request. */
  GATEWAY_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().positive().default(10_000),
  /** In-process cache of session lookups (≤ 1 s keeps revocation prompt). */
  GATEWAY_SESSION_CACHE_MS: z.coerce.number().int().min(0).max(5_000).default(1_000),
  /** Per-client-name requests per minute; default 20 × RATE_LIMIT_PER_MINUTE. */
  GATEWAY_CLIENT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().optional(),
  /** Whole-response cache by the subgraphs' cache hints (anonymous and members); `off` to measure the real path. */
  GATEWAY_RESPONSE_CACHE: z.enum(["on", "off"]).default("on"),
  /** Single-fetch forwarding (src/forward.ts, decision 0034); `off` runs every operation through Apollo's pipeline. */
  GATEWAY_SINGLE_FETCH: z.enum(["on", "off"]).default("on"),
  /** Forwarded operations of one event-loop turn sent to their subgraph as one batch (decision 0048); `off`: one request each. */
  GATEWAY_SUBGRAPH_BATCH: z.enum(["on", "off"]).default("on"),
  /** Undelivered live events a subscriber may have queued before it is dropped. */
  GATEWAY_SUBSCRIPTION_BUFFER: z.coerce.number().int().positive().default(100),
  /** Open graphql-ws sockets on this instance (src/subscriptions/limits.ts, decision 0025). */
  GATEWAY_WS_MAX_CONNECTIONS: z.coerce.number().int().positive().default(10_000),
  /** Open graphql-ws sockets per client address, handshake finished or not. */
  GATEWAY_WS_CONNECTIONS_PER_IP: z.coerce.number().int().positive().default(50),
  /** Open graphql-ws sockets per member, operator or partner key. */
  GATEWAY_WS_CONNECTIONS_PER_CALLER: z.coerce.number().int().positive().default(5),
  /** Operations in flight (subscriptions and queries) on one socket. */
  GATEWAY_WS_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().positive().default(10),
  /** Time from opening a socket to its connection_init (then close 4408). */
  GATEWAY_WS_INIT_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(3_000),
  /** Largest message a client may send over the socket (then close 1009). */
  GATEWAY_WS_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** Live-event executions at once on this instance, callers taking turns. */
  GATEWAY_WS_EVENT_CONCURRENCY: z.coerce.number().int().positive().default(32),
  /** Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR ranges); default none. */
  TRUSTED_PROXIES: z.string().default(""),
});

export function gatewaySettings(env: NodeJS.ProcessEnv = process.env): Partial<GatewayOptions> {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new Error(`invalid gateway configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  const s = parsed.data;
  parseTrustedProxies(s.TRUSTED_PROXIES); // a bad entry is a start-up error naming it
  return {
    subgraphTimeoutMs: s.GATEWAY_SUBGRAPH_TIMEOUT_MS,
    circuit: { failureThreshold: s.GATEWAY_CIRCUIT_FAILURES, cooldownMs: s.GATEWAY_CIRCUIT_COOLDOWN_MS },
    sessionCacheMs: s.GATEWAY_SESSION_CACHE_MS,
    perClientPerMinute: s.GATEWAY_CLIENT_RATE_LIMIT_PER_MINUTE,
    subscriptionBufferSize: s.GATEWAY_SUBSCRIPTION_BUFFER,
    responseCache: s.GATEWAY_RESPONSE_CACHE === "on",
    singleFetch: s.GATEWAY_SINGLE_FETCH === "on",
    subgraphBatch: s.GATEWAY_SUBGRAPH_BATCH === "on",
    trustedProxies: s.TRUSTED_PROXIES,
    liveLimits: {
      maxConnections: s.GATEWAY_WS_MAX_CONNECTIONS,
      connectionsPerIp: s.GATEWAY_WS_CONNECTIONS_PER_IP,
      connectionsPerCaller: s.GATEWAY_WS_CONNECTIONS_PER_CALLER,
      subscriptionsPerConnection: s.GATEWAY_WS_SUBSCRIPTIONS_PER_CONNECTION,
      initTimeoutMs: s.GATEWAY_WS_INIT_TIMEOUT_MS,
      maxMessageBytes: s.GATEWAY_WS_MAX_MESSAGE_BYTES,
      eventConcurrency: s.GATEWAY_WS_EVENT_CONCURRENCY,
    },
  };
}
