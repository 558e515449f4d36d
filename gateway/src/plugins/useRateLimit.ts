/**
 * useRateLimit: fixed windows in Redis (one Lua call per request, src/lua/hitWindows-counters.lua)
 * - per caller: the member/operator id, the partner key (its own limit when it has one), or the
 *   client IP when anonymous — `perMinute` (config.RATE_LIMIT_PER_MINUTE);
 * - per client name (`apollographql-client-name`), when sent — `perClientPerMinute` (default 20×).
 * Over the limit → RATE_LIMITED (HTTP 429) with `Retry-After` and extensions.retryAfterSeconds.
 * Must come after useAuth (it reads the identity).
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import { defineLua, keyFor } from "@mallgraph/platform/redis";
import type { Redis } from "ioredis";
import { gatewayError } from "../errors.ts";
import type { GatewayPlugin } from "./types.ts";

export interface RateLimitOptions {
  redis: Redis;
  prefix: string;
  perMinute: number;
  perClientPerMinute?: number;
  windowMs?: number;
}

export function useRateLimit(opts: RateLimitOptions): GatewayPlugin {
  const key = keyFor(opts.prefix, "gateway");
  const windowMs = opts.windowMs ?? 60_000;
  const perClient = opts.perClientPerMinute ?? opts.perMinute * 20;
  const file = new URL("../lua/hitWindows-counters.lua", import.meta.url);
  const hit1 = defineLua<[string, number, number], number>(opts.redis, "mgGatewayHitWindows1", file, 1);
  const hit2 = defineLua<[string, string, number, number, number], number>(opts.redis, "mgGatewayHitWindows2", file, 2);
  return {
    name: "rate-limit",
    async onRequest(state) {
      const id = state.identity;
      const subject = id.id ? `${id.kind}:${id.id}` : `ip:${state.ip}`;
      const perMinute = state.partner?.rateLimitPerMinute ?? opts.perMinute;
      const waitMs = Number(
        state.clientName
          ? await hit2(key("rl", subject), key("rl", "client", state.clientName.slice(0, 100)), windowMs, perMinute, perClient)
          : await hit1(key("rl", subject), windowMs, perMinute),
      );
      if (waitMs > 0) {
        const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
        state.responseHeaders["retry-after"] = String(retryAfterSeconds);
        throw gatewayError(ErrorCode.RATE_LIMITED, `too many requests, retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
      }
    },
  };
}
