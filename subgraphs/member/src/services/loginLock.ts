/**
 * Brute-force lock: failed logins per account and calendar day (Redis counter expiring at the end
 * of the day). Once `max` failures are in, every further try is ACCOUNT_LOCKED, right password or
 * not, until the day ends. Tries are admitted before the credentials are checked and counted as
 * pending while in flight (lua/beginLogin-failures-pending.lua), so a burst of parallel guesses gets
 * no more checks than failures are left; a try that would exceed them is RATE_LIMITED (retry soon).
 */
import { defineLua } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import { accountLocked, AppError, ErrorCode } from "../errors.ts";
import type { MemberKeys } from "../keys.ts";
import { dayWindow, isLocked, MAX_LOGIN_FAILURES_PER_DAY } from "./rules.ts";

const PENDING_TTL_MS = 30_000;

export interface LoginTry {
  /** Ends the try; `ok` false counts a failure for the day. */
  end(ok: boolean): Promise<void>;
  /** Runs the credential check inside the try: a throw counts as a failure. */
  run<T>(check: () => Promise<T>): Promise<T>;
}

export function createLoginLock(redis: Redis, keys: MemberKeys, max = MAX_LOGIN_FAILURES_PER_DAY) {
  const beginLua = defineLua<[string, string, number, number], [number, number]>(
    redis,
    "memberBeginLogin",
    new URL("../lua/beginLogin-failures-pending.lua", import.meta.url),
    2,
  );
  const endLua = defineLua<[string, string, string, number, number], number>(
    redis,
    "memberEndLogin",
    new URL("../lua/endLogin-failures-pending.lua", import.meta.url),
    2,
  );
  return {
    async begin(realm: string, account: string, now = Date.now()): Promise<LoginTry> {
      const { day, endsAtMs } = dayWindow(now);
      const failures = keys.loginFailures(realm, account, day);
      const pending = `${failures}:pending`;
      const [state, failed] = await beginLua(failures, pending, max, PENDING_TTL_MS);
      if (Number(state) === 0 || isLocked(Number(failed), max)) throw accountLocked(Math.max(1, Math.ceil((endsAtMs - now) / 1000)));
      if (Number(state) === 2)
        throw new AppError(ErrorCode.RATE_LIMITED, "too many login tries in flight for this account; try again in a moment", {
          retryAfterSeconds: 1,
        });
      let ended = false;
      const end = async (ok: boolean) => {
        if (ended) return;
        ended = true;
        await endLua(failures, pending, ok ? "0" : "1", endsAtMs, PENDING_TTL_MS);
      };
      return {
        end,
        async run<T>(check: () => Promise<T>): Promise<T> {
          try {
            const r = await check();
            await end(true);
            return r;
          } catch (e) {
            await end(false);
            throw e;
          }
        },
      };
    },
  };
}
export type LoginLock = ReturnType<typeof createLoginLock>;
