/**
 * The member domain's Redis keys. Small keys share the domain's tag `<prefix>:{member}:…`; the hot
 * ones carry a tag of their own entity, so a Redis Cluster spreads them (decision 0033), and the
 * keys one Lua script touches share one slot:
 * - a session, its refresh-token set and its refresh tokens: `{session:<sid>}`;
 * - a subject's device slots: `{subject:<realm>:<subject>}`;
 * - a phone's SMS code and resend guard: `{sms:<phone>}`;
 * - an account's login failures and tries in flight: `{login:<realm>:<account>}`.
 */
import { sessionKey, sessionKeys } from "@mallgraph/platform/auth";
import { entityKeyFor, keyFor } from "@mallgraph/platform/redis";

export function memberKeys(prefix: string) {
  const k = keyFor(prefix, "member");
  const sms = (phone: string) => entityKeyFor(prefix, "member", "sms", phone);
  return {
    /** hash { code, tries }, TTL = code lifetime */
    smsCode: (phone: string) => sms(phone)("code"),
    /** plain key, TTL = resend interval */
    smsGuard: (phone: string) => sms(phone)("guard"),
    /** counter of failed logins of one account on one day, expires at the end of that day */
    loginFailures: (realm: string, account: string, day: string) => entityKeyFor(prefix, "member", "login", realm, account)("fail", day),
    /** the session hash readSession() reads */
    session: (sid: string) => sessionKey(prefix, sid),
    /** set of the refresh-token keys of a session (deleted with it) */
    sessionTokens: (sid: string) => sessionKeys(prefix, sid)("rt"),
    /** hash { session, set, sid, gen } of one refresh token of session `sid`, by sha256 of the token */
    refreshToken: (sid: string, hash: string) => sessionKeys(prefix, sid)("rt", hash),
    /** the live session id of a subject on one device type */
    deviceSlot: (realm: string, subject: string, device: string) =>
      entityKeyFor(prefix, "member", "subject", realm, subject)("slot", device),
    /** payload of a sessionEvents live event (JSON), short TTL */
    sessionEvent: (eventId: string) => k("event", "session", eventId),
  };
}
export type MemberKeys = ReturnType<typeof memberKeys>;
