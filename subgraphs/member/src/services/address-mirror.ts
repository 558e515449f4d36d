/**
 * Member's addresses mirrored in Redis for order's placement (decision 0054; the key and the entry's
 * form are @mallgraph/platform/contracts/member's). Order reads an address there in the placement's
 * first Redis tick instead of calling `memberAddress`; member keeps the mirror correct:
 *
 * - every address write bumps the member's mirror version inside its transaction (before COMMIT: a
 *   Redis that cannot be written refuses the write) and again after it — every entry filled before
 *   the commit, from a row read before it, stops counting;
 * - `memberAddress` (a miss of order's) reads the version, then the row, and fills the entry only if
 *   the version has not moved meanwhile (a script), so no stale row is filled after a bump;
 * - the hash lives an hour after its last fill or bump (a member who does not order drops out).
 *
 * Left open: a process that dies between a write's COMMIT and its second bump leaves an entry filled
 * during that transaction (from the row before it) counting until the hash's hour ends.
 */
import { ADDRESS_MIRROR_VERSION, addressMirrorField, addressMirrorKey, type AddressSnapshot } from "@mallgraph/platform/contracts/member";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { logger } from "@mallgraph/platform/log";
import { defineLua, isRedisError, type Redis } from "@mallgraph/platform/redis";

const log = logger("member");
/** How long a member's mirror lives after its last fill or bump. */
export const ADDRESS_MIRROR_TTL_MS = 60 * 60 * 1000;
/** A row read longer ago than this after its version is not filled (a stalled process). */
const FILL_WITHIN_MS = 5_000;

export interface AddressMirror {
  /** Invalidates the member's entries; inside a write's transaction (SERVICE_UNAVAILABLE on a Redis error: the write fails). */
  bump(memberId: string): Promise<void>;
  /** Invalidates them again after the commit; a Redis error is logged (entries filled during the write count until the hash expires). */
  bumpAfterCommit(memberId: string): Promise<void>;
  /** The version to fill under, read before the row; null when Redis cannot say (no fill then). */
  version(memberId: string): Promise<string | null>;
  /** Fills an address read after `version` was (best-effort). */
  fill(memberId: string, version: string | null, readAt: number, address: AddressSnapshot): Promise<void>;
}

export function createAddressMirror(redis: Redis, prefix: string): AddressMirror {
  const fillLua = defineLua<[string, string, string, string, number], number>(
    redis,
    "fillAddress",
    new URL("../lua/fillAddress-mirror.lua", import.meta.url),
    1,
  );
  const bump = async (memberId: string) => {
    const key = addressMirrorKey(prefix, memberId);
    await Promise.all([redis.hincrby(key, ADDRESS_MIRROR_VERSION, 1), redis.pexpire(key, ADDRESS_MIRROR_TTL_MS)]);
  };
  return {
    async bump(memberId) {
      try {
        await bump(memberId);
      } catch (e) {
        if (!isRedisError(e)) throw e;
        throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "addresses cannot be changed right now (Redis unreachable); try again");
      }
    },
    async bumpAfterCommit(memberId) {
      try {
        await bump(memberId);
      } catch (e) {
        if (!isRedisError(e)) throw e;
        log.warn({ err: e, memberId }, "could not bump the address mirror after a write");
      }
    },
    async version(memberId) {
      try {
        return (await redis.hget(addressMirrorKey(prefix, memberId), ADDRESS_MIRROR_VERSION)) ?? "0";
      } catch (e) {
        if (!isRedisError(e)) throw e;
        return null;
      }
    },
    async fill(memberId, version, readAt, a) {
      if (version === null || performance.now() - readAt > FILL_WITHIN_MS) return;
      const snapshot: AddressSnapshot = { id: a.id, receiver: a.receiver, phone: a.phone, region: a.region, detail: a.detail };
      try {
        await fillLua(
          addressMirrorKey(prefix, memberId),
          version,
          addressMirrorField(a.id),
          JSON.stringify(snapshot),
          ADDRESS_MIRROR_TTL_MS,
        );
      } catch (e) {
        if (!isRedisError(e)) throw e;
      }
    },
  };
}
