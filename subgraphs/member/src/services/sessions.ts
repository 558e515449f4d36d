/**
 * Server-side sessions (Redis), access JWTs and rotating refresh tokens.
 *
 * - Session hash at sessionKey(prefix, sid): realm, subject, device, permissions (JSON), createdAt
 *   (what readSession() of the platform reads) plus refreshGen and slot (ours). TTL = refresh TTL.
 * - Refresh token: `<sid>.<random>`, so its key is found under the session's hash tag (one Redis
 *   Cluster slot a session, decision 0033); stored as sha256 → { session, set, sid, gen }; rotation
 *   and reuse detection in lua/rotateRefresh-token-next.lua.
 * - One session per member and device type: the slot key names the live session; a new login
 *   revokes the one it replaces and publishes a `sessionEvents` live event (KICKED_OUT). Operators
 *   (realm admin) may hold several sessions at once (consoles, scripts, test runs in parallel).
 */
import { randomUUID } from "node:crypto";
import { signAccessToken, type Realm, type SigningKey } from "@mallgraph/platform/auth";
import { publishLiveEvent } from "@mallgraph/platform/events";
import { defineLua, lockReleaser } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import { noteRevokedSession } from "@mallgraph/platform/revocation";
import { invalidRefreshToken } from "../errors.ts";
import type { MemberKeys } from "../keys.ts";
import { DEVICE_TYPES, hashToken, newOpaqueToken } from "./rules.ts";

export const SESSION_EVENT_TTL_SECONDS = 3600;

/** A refresh token names its session: `<sid>.<random>`. */
const REFRESH_TOKEN_SID = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{20,}$/;

export interface SessionEventPayload {
  eventId: string;
  /** The member (or, realm "admin", the operator) whose session it was. */
  memberId: string;
  realm: Realm;
  sessionId: string;
  type: "KICKED_OUT" | "LOGGED_OUT";
  device: string;
  at: string;
  reason: string | null;
}

export interface IssuedTokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface SessionServiceDeps {
  redis: Redis;
  prefix: string;
  keys: MemberKeys;
  signingKey: SigningKey;
  issuer: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

type LuaReply = Array<string | number>;

export function createSessionService(d: SessionServiceDeps) {
  const rotateLua = defineLua<[string, string, number], LuaReply>(
    d.redis,
    "memberRotateRefresh",
    new URL("../lua/rotateRefresh-token-next.lua", import.meta.url),
    2,
  );
  const revokeLua = defineLua<[string, string, string], LuaReply>(
    d.redis,
    "memberRevokeSession",
    new URL("../lua/revokeSession-session-tokens.lua", import.meta.url),
    2,
  );
  const touchSlotLua = defineLua<[string, string, number], number>(
    d.redis,
    "memberTouchSlot",
    new URL("../lua/touchSlot-slot.lua", import.meta.url),
    1,
  );
  /** Frees a subject's device slot while it still names session `sid` (a newer login's stays). */
  const freeSlot = lockReleaser(d.redis);

  async function accessToken(subject: string, sid: string, realm: Realm, device: string): Promise<string> {
    return signAccessToken(d.signingKey, d.issuer, d.accessTtlSeconds, { sub: subject, sid, realm, dev: device });
  }

  /** Stores the payload, then publishes (also for operators: the gateway evicts its session cache on it). */
  async function publishSessionEvent(
    realm: Realm,
    memberId: string,
    sessionId: string,
    type: SessionEventPayload["type"],
    device: string,
    reason: string | null,
  ): Promise<string> {
    noteRevokedSession(sessionId); // the gateway forwarding this request forgets it before answering
    const eventId = randomUUID();
    const payload: SessionEventPayload = { eventId, memberId, realm, sessionId, type, device, at: new Date().toISOString(), reason };
    await d.redis.set(d.keys.sessionEvent(eventId), JSON.stringify(payload), "EX", SESSION_EVENT_TTL_SECONDS);
    await publishLiveEvent(d.redis, d.prefix, "sessionEvents", { eventId, keys: {}, audience: [memberId], sessions: [sessionId] });
    return eventId;
  }

  /** Revokes a session with all its refresh tokens. Returns what it was, or null when it did not exist. */
  async function revoke(sid: string): Promise<{ subject: string; device: string; realm: Realm } | null> {
    const r = await revokeLua(d.keys.session(sid), d.keys.sessionTokens(sid), sid);
    if (Number(r[0]) !== 1) return null;
    const slot = String(r[4] ?? "");
    if (slot) await freeSlot(slot, sid);
    return { subject: String(r[1]), device: String(r[2]), realm: String(r[3]) as Realm };
  }

  return {
    /** Logs a subject in on a device type; the session it replaces there (if any) is revoked and told. */
    async create(input: { realm: Realm; subject: string; device: string; permissions?: string[] }): Promise<IssuedTokens> {
      const sid = randomUUID();
      const refreshToken = `${sid}.${newOpaqueToken()}`;
      const rtKey = d.keys.refreshToken(sid, hashToken(refreshToken));
      const sessKey = d.keys.session(sid);
      const setKey = d.keys.sessionTokens(sid);
      const slot = input.realm === "member" ? d.keys.deviceSlot(input.realm, input.subject, input.device) : "";
      const ttl = d.refreshTtlSeconds;
      await d.redis
        .multi()
        .hset(sessKey, {
          realm: input.realm,
          subject: input.subject,
          device: input.device,
          permissions: JSON.stringify(input.permissions ?? []),
          createdAt: String(Date.now()),
          refreshGen: "0",
          ...(slot ? { slot } : {}),
        })
        .expire(sessKey, ttl)
        .hset(rtKey, { session: sessKey, set: setKey, sid, gen: "0" })
        .expire(rtKey, ttl)
        .sadd(setKey, rtKey)
        .expire(setKey, ttl)
        .exec();
      const previous = slot ? ((await d.redis.call("SET", slot, sid, "EX", String(ttl), "GET")) as string | null) : null;
      if (previous && previous !== sid) {
        const old = await revoke(previous);
        if (old)
          await publishSessionEvent(
            old.realm,
            old.subject,
            previous,
            "KICKED_OUT",
            old.device,
            `signed in on another ${old.device} device`,
          );
      }
      return {
        sessionId: sid,
        accessToken: await accessToken(input.subject, sid, input.realm, input.device),
        refreshToken,
        expiresIn: d.accessTtlSeconds,
      };
    },

    /** Rotates a refresh token; reuse of a rotated one revokes the whole session. */
    async refresh(refreshToken: string): Promise<IssuedTokens & { realm: Realm; subject: string }> {
      if (typeof refreshToken !== "string" || refreshToken.length < 20 || refreshToken.length > 200) throw invalidRefreshToken();
      const tokenSid = REFRESH_TOKEN_SID.exec(refreshToken)?.[1];
      if (!tokenSid) throw invalidRefreshToken();
      const next = `${tokenSid}.${newOpaqueToken()}`;
      const r = await rotateLua(
        d.keys.refreshToken(tokenSid, hashToken(refreshToken)),
        d.keys.refreshToken(tokenSid, hashToken(next)),
        d.refreshTtlSeconds,
      );
      const status = String(r[0]);
      if (status === "REUSED") {
        const [, sid = "", subject = "", device = "", realm = "", slot = ""] = r.map(String);
        if (slot) await freeSlot(slot, sid);
        await publishSessionEvent(realm as Realm, subject, sid, "KICKED_OUT", device, "refresh token reuse detected");
        throw invalidRefreshToken("refresh token was already used; the session has been revoked");
      }
      if (status !== "OK") throw invalidRefreshToken();
      const [, sid, subject, device, realm, slot] = r.map(String) as [string, string, string, string, Realm, string];
      if (slot) await touchSlotLua(slot, sid, d.refreshTtlSeconds);
      return {
        sessionId: sid,
        accessToken: await accessToken(subject, sid, realm, device),
        refreshToken: next,
        expiresIn: d.accessTtlSeconds,
        realm,
        subject,
      };
    },

    revoke,

    /**
     * Ends every live session of a member (one per device type), except `keepSessionId`, and tells
     * each (KICKED_OUT with `reason`). Returns how many ended.
     */
    async endAll(memberId: string, reason: string, keepSessionId?: string): Promise<number> {
      let n = 0;
      for (const device of DEVICE_TYPES) {
        const sid = await d.redis.get(d.keys.deviceSlot("member", memberId, device));
        if (!sid || sid === keepSessionId) continue;
        const old = await revoke(sid);
        if (!old) continue;
        await publishSessionEvent(old.realm, old.subject, sid, "KICKED_OUT", old.device, reason);
        n++;
      }
      return n;
    },

    /** Logout: revokes the session and tells the member's live clients. */
    async logout(sid: string): Promise<boolean> {
      const old = await revoke(sid);
      if (!old) return false;
      await publishSessionEvent(old.realm, old.subject, sid, "LOGGED_OUT", old.device, null);
      return true;
    },

    async loadEvent(eventId: string): Promise<SessionEventPayload | null> {
      if (typeof eventId !== "string" || eventId.length > 100) return null;
      const raw = await d.redis.get(d.keys.sessionEvent(eventId));
      return raw ? (JSON.parse(raw) as SessionEventPayload) : null;
    },
  };
}
export type SessionService = ReturnType<typeof createSessionService>;
