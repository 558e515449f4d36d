/** The member domain's Redis keys: `<prefix>:{member}:…` (one hash tag: one cluster slot). */
import { sessionKey } from "@mallgraph/platform/auth";
import { keyFor } from "@mallgraph/platform/redis";

export function memberKeys(prefix: string) {
  const k = keyFor(prefix, "member");
  return {
    /** hash { code, tries }, TTL = code lifetime */
    smsCode: (phone: string) => k("sms", "code", phone),
    /** plain key, TTL = resend interval */
    smsGuard: (phone: string) => k("sms", "guard", phone),
    /** counter of failed logins of one account on one day, expires at the end of that day */
    loginFailures: (realm: string, account: string, day: string) => k("login-fail", realm, day, account),
    /** the session hash readSession() reads */
    session: (sid: string) => sessionKey(prefix, sid),
    /** set of the refresh-token keys of a session (deleted with it) */
    sessionTokens: (sid: string) => `${sessionKey(prefix, sid)}:rt`,
    /** hash { session, set, sid, gen } of one refresh token, by sha256 of the token */
    refreshToken: (hash: string) => k("rt", hash),
    /** the live session id of a subject on one device type */
    deviceSlot: (realm: string, subject: string, device: string) => k("slot", realm, subject, device),
    /** payload of a sessionEvents live event (JSON), short TTL */
    sessionEvent: (eventId: string) => k("event", "session", eventId),
  };
}
export type MemberKeys = ReturnType<typeof memberKeys>;
