/**
 * Partner API keys, shared by the member subgraph (operators create and revoke them; PostgreSQL is
 * the record) and the gateway (checks `x-api-key` on every request). A key is shown once; only its
 * sha256 is stored. The member subgraph mirrors each live key into Redis
 * (`<prefix>:{member}:partnerKey:<sha256>`) and deletes the mirror when the key is revoked; the
 * gateway reads the mirror through a cache of at most 500 ms, so a revocation holds on every
 * gateway instance within a second.
 */
import { createHash, randomBytes } from "node:crypto";
import { keyFor, type Redis } from "./redis.ts";

export const PARTNER_KEY_HEADER = "x-api-key";

/** What a key may do: the manifest operations it may run (by name) and its own rate limit. */
export interface PartnerKeyRecord {
  id: string;
  name: string;
  operations: string[];
  /** Requests per minute for this key; null: the gateway's RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute: number | null;
}

/** The operations a key gets when its creator names none: the anonymous read operations of the manifest. */
export const DEFAULT_PARTNER_OPERATIONS: readonly string[] = ["Categories", "SearchProducts", "Product", "SeckillSessions"];

/** A new key: `mgp_` and 32 random bytes (base64url). */
export function newPartnerKey(): string {
  return `mgp_${randomBytes(32).toString("base64url")}`;
}

export function hashPartnerKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

const mirrorKey = (prefix: string, hash: string) => keyFor(prefix, "member")("partnerKey", hash);

export async function mirrorPartnerKey(redis: Redis, prefix: string, hash: string, record: PartnerKeyRecord): Promise<void> {
  await redis.set(mirrorKey(prefix, hash), JSON.stringify(record));
}

export async function dropPartnerKeyMirror(redis: Redis, prefix: string, hash: string): Promise<void> {
  await redis.del(mirrorKey(prefix, hash));
}

export async function readPartnerKey(redis: Redis, prefix: string, hash: string): Promise<PartnerKeyRecord | null> {
  const raw = await redis.get(mirrorKey(prefix, hash));
  return raw ? (JSON.parse(raw) as PartnerKeyRecord) : null;
}
