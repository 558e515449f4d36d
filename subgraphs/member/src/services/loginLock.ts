/** Brute-force lock: failed logins per account and calendar day (Redis counter expiring at day end). */
import type { Redis } from "ioredis";
import type { MemberKeys } from "../keys.ts";
import { accountLocked } from "../errors.ts";
import { dayWindow, isLocked, MAX_LOGIN_FAILURES_PER_DAY } from "./rules.ts";

export function createLoginLock(redis: Redis, keys: MemberKeys, max = MAX_LOGIN_FAILURES_PER_DAY) {
  return {
    /** Throws ACCOUNT_LOCKED once the day's failures reached the maximum. */
    async assertOpen(realm: string, account: string, now = Date.now()): Promise<void> {
      const { day, endsAtMs } = dayWindow(now);
      const n = Number((await redis.get(keys.loginFailures(realm, account, day))) ?? 0);
      if (isLocked(n, max)) throw accountLocked(Math.max(1, Math.ceil((endsAtMs - now) / 1000)));
    },
    async recordFailure(realm: string, account: string, now = Date.now()): Promise<number> {
      const { day, endsAtMs } = dayWindow(now);
      const key = keys.loginFailures(realm, account, day);
      const res = await redis.multi().incr(key).pexpireat(key, endsAtMs).exec();
      return Number(res?.[0]?.[1] ?? 0);
    },
  };
}
export type LoginLock = ReturnType<typeof createLoginLock>;
