/**
 * useRateLimit: fixed windows in Redis (one Lua call per limited subject, src/lua/hitWindows-counters.lua;
 * each subject's counter carries its own hash tag, so a Redis Cluster spreads them — decision 0033)
 * - per caller: the member/operator id, the partner key (its own limit when it has one), or the
 *   client IP when anonymous — `perMinute` (config.RATE_LIMIT_PER_MINUTE);
 * - per client name (`apollographql-client-name`), when sent — `perClientPerMinute` (default 20×).
 * Over the limit → RATE_LIMITED (HTTP 429) with `Retry-After` and extensions.retryAfterSeconds.
 * Must come after useAuth (it reads the identity).
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import { defineLua, entityKeyFor, type Redis } from "@mallgraph/platform/redis";
import { gatewayError } from "../errors.ts";
import type { GatewayPlugin } from "./types.ts";

export interface RateLimitOptions {
  redis: Redis;
  prefix: string;
  perMinute: number;
  perClientPerMinute?: number;
  windowMs?: number;
}

/** The window counter of one limited subject (`member:<id>`, `ip:<address>`, `client:<name>`, …), under its own hash tag. */
export function rateLimitKey(prefix: string, subject: string): string {
  return entityKeyFor(prefix, "gateway", "rl", subject)();
}

export function useRateLimit(opts: RateLimitOptions): GatewayPlugin {
  const windowMs = opts.windowMs ?? 60_000;
  const perClient = opts.perClientPerMinute ?? opts.perMinute * 20;
  const hit = defineLua<[string, number, number], number>(
    opts.redis,
    "mgGatewayHitWindows1",
    new URL("../lua/hitWindows-counters.lua", import.meta.url),
    1,
  );
  return {
    name: "rate-limit",
    async onRequest(state) {
      const id = state.identity;
      const subject = id.id ? `${id.kind}:${id.id}` : `ip:${state.ip}`;
      const perMinute = state.partner?.rateLimitPerMinute ?? opts.perMinute;
      const hits = [hit(rateLimitKey(opts.prefix, subject), windowMs, perMinute)];
      if (state.clientName) hits.push(hit(rateLimitKey(opts.prefix, `client:${state.clientName.slice(0, 100)}`), windowMs, perClient));
      const waitMs = Math.max(...(await Promise.all(hits)).map(Number));
      if (waitMs > 0) {
        const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
        state.responseHeaders["retry-after"] = String(retryAfterSeconds);
        throw gatewayError(ErrorCode.RATE_LIMITED, `too many requests, retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
      }
    },
  };
}
