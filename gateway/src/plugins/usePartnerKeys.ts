/**
 * usePartnerKeys: `x-api-key: <partner key>` makes the caller the partner (identity kind partner,
 * the key's id) for logs, rate limits and subgraphs, and records what the key may run
 * (state.partner; usePersistedQueries holds it to those manifest operations, useRateLimit to its
 * limit). An unknown or revoked key → UNAUTHENTICATED (401); a key together with a bearer token →
 * UNAUTHENTICATED too (one caller per request). Must come after useAuth.
 *
 * Keys are looked up in the member subgraph's Redis mirror (@mallgraph/platform/partner-keys),
 * cached in-process for `cacheMs` (≤ 1 s keeps revocation prompt on every gateway instance).
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import { hashPartnerKey, readPartnerKey, PARTNER_KEY_HEADER, type PartnerKeyRecord } from "@mallgraph/platform/partner-keys";
import type { Redis } from "@mallgraph/platform/redis";
import { gatewayError } from "../errors.ts";
import { lookupCache } from "./lookupCache.ts";
import type { GatewayPlugin, RequestState } from "./types.ts";

export interface PartnerKeyOptions {
  redis: Redis;
  prefix: string;
  /** How long a lookup (found or not) is reused; default 500 ms, at most 1 s. */
  cacheMs?: number;
}

export function usePartnerKeys(opts: PartnerKeyOptions): GatewayPlugin {
  const keys = lookupCache<PartnerKeyRecord>(Math.min(opts.cacheMs ?? 500, 1000), 10_000, (hash) =>
    readPartnerKey(opts.redis, opts.prefix, hash),
  );

  async function asPartner(state: RequestState, key: string): Promise<void> {
    if (state.identity.kind !== "anonymous")
      throw gatewayError(ErrorCode.UNAUTHENTICATED, `send either an access token or an ${PARTNER_KEY_HEADER}, not both`);
    const record = key.length <= 200 ? await keys.get(hashPartnerKey(key)) : null;
    if (!record) throw gatewayError(ErrorCode.UNAUTHENTICATED, "unknown or revoked API key");
    state.partner = record;
    state.identity = { kind: "partner", id: record.id };
  }

  return {
    name: "partner-keys",
    onRequest(state) {
      const key = state.headers[PARTNER_KEY_HEADER]?.trim();
      // most requests carry no key: nothing to await (the endpoint awaits only a returned promise)
      return key ? asPartner(state, key) : undefined;
    },
  };
}
