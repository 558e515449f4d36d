/**
 * useRateLimit: fixed windows in Redis, one counter per limited subject (each under its own hash tag,
 * so a Redis Cluster spreads them — decision 0033):
 * - per caller: the member/operator id, the partner key (its own limit when it has one), or the
 *   client IP when anonymous — `perMinute` (config.RATE_LIMIT_PER_MINUTE);
 * - per client name (`apollographql-client-name`), when sent — `perClientPerMinute` (default 20×).
 * Over the limit → RATE_LIMITED (HTTP 429) with `Retry-After` and extensions.retryAfterSeconds.
 * Must come after useAuth (it reads the identity).
 *
 * Hits are counted in leases (src/lua/leaseWindow-counters.lua, decision 0037): one script call
 * counts up to `maxLease` hits of a subject at once, at most 1/16 of what is left of its window, and
 * this instance answers that many of the subject's requests from memory until the window ends.
 * Every request is still counted in Redis before it is let through, so the limit is never exceeded;
 * hits leased but not used by the end of the window count too (on one instance the limit falls
 * exactly where it did with one call per request: leases shrink to one hit near the limit; with
 * several instances a subject can be refused at most `maxLease` hits per instance early).
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import { defineLua, entityKeyFor, type Redis } from "@mallgraph/platform/redis";
import { gatewayError } from "../errors.ts";
import type { GatewayPlugin, RequestState } from "./types.ts";

export interface RateLimitOptions {
  redis: Redis;
  prefix: string;
  perMinute: number;
  perClientPerMinute?: number;
  windowMs?: number;
  /** The most hits one script call leases to this instance (default 16; 1: one call per request). */
  maxLease?: number;
}

/** A lease is at most this share of what is left of the window (1/16). */
const LEASE_SHARE = 16;
/** Leases kept in memory; beyond, they are all dropped (their hits stay counted in Redis). */
const MAX_LEASES = 50_000;

/** The window counter of one limited subject (`member:<id>`, `ip:<address>`, `client:<name>`, …), under its own hash tag. */
export function rateLimitKey(prefix: string, subject: string): string {
  return entityKeyFor(prefix, "gateway", "rl", subject)();
}

interface Lease {
  /** Hits counted in Redis and not used yet. */
  left: number;
  /** When the window ends at the latest (monotonic clock, measured from before the call). */
  until: number;
}

export function useRateLimit(opts: RateLimitOptions): GatewayPlugin {
  const windowMs = opts.windowMs ?? 60_000;
  const perClient = opts.perClientPerMinute ?? opts.perMinute * 20;
  const maxLease = Math.max(1, Math.floor(opts.maxLease ?? 16));
  const take = defineLua<[string, number, number, number, number], [number, number, number]>(
    opts.redis,
    "mgGatewayLeaseWindow1",
    new URL("../lua/leaseWindow-counters.lua", import.meta.url),
    1,
  );
  const leases = new Map<string, Lease>();

  /** 0 when one more hit of `subject` is within `limit`, else the milliseconds until its window ends; sync when leased. */
  function hit(subject: string, limit: number): number | Promise<number> {
    // monotonic: a wall clock set back (NTP step, VM resume) must not stretch a lease into Redis's next window
    const now = performance.now();
    const held = leases.get(subject);
    if (held && held.left > 0 && now < held.until) {
      held.left--;
      return 0;
    }
    return take(rateLimitKey(opts.prefix, subject), windowMs, limit, maxLease, LEASE_SHARE).then(([granted, ttl, count]) => {
      if (granted <= 0) return Math.max(1, ttl);
      const current = leases.get(subject);
      // the same window as the lease held (this call did not start it): add to it; else a new lease
      if (current && count !== granted && now < current.until) current.left += granted - 1;
      else if (granted > 1) {
        if (leases.size >= MAX_LEASES) leases.clear();
        leases.set(subject, { left: granted - 1, until: now + ttl });
      } else leases.delete(subject);
      return 0;
    });
  }

  const refuseAfter = (state: RequestState, waitMs: number): void => {
    if (waitMs <= 0) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    state.responseHeaders["retry-after"] = String(retryAfterSeconds);
    throw gatewayError(ErrorCode.RATE_LIMITED, `too many requests, retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  };

  return {
    name: "rate-limit",
    onRequest(state) {
      const id = state.identity;
      const own = hit(id.id ? `${id.kind}:${id.id}` : `ip:${state.ip}`, state.partner?.rateLimitPerMinute ?? opts.perMinute);
      const client = state.clientName ? hit(`client:${state.clientName.slice(0, 100)}`, perClient) : 0;
      if (typeof own === "number" && typeof client === "number") return refuseAfter(state, Math.max(own, client));
      return Promise.all([own, client]).then(([a, b]) => refuseAfter(state, Math.max(a, b)));
    },
  };
}
