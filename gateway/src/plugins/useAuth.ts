/**
 * useAuth: turns `Authorization: Bearer <access JWT>` into the caller's Identity.
 *
 * 1. Verifies signature, issuer, expiry and audience (one per realm: `<issuer>:member`,
 *    `<issuer>:admin`, matching the token's realm) against the member subgraph's JWKS (jose remote
 *    key set, cached; refetched when an unknown `kid` shows up). A verified token is remembered (bounded,
 *    in-process) until its `exp`, so a member's later requests skip the signature check; the session
 *    check below still runs on every request.
 * 2. Checks that the token's server-side session (`sid`) is still live in Redis — cached in-process
 *    for at most `sessionCacheMs` (default 1 s), and evicted at once when a `sessionEvents` live
 *    event names the session (logout, kick).
 * 3. Builds the Identity: kind member|admin, id, sessionId, device, permissions from the session —
 *    the same (frozen) object for as long as the cached session lookup is the same, so what is
 *    derived from it (the signed identity's body) is computed once per session and second.
 *
 * No token → anonymous (subgraphs decide per field). A bad, expired or revoked token →
 * UNAUTHENTICATED (HTTP 401). The JWKS being unreachable → SERVICE_UNAVAILABLE (503).
 */
import {
  ANONYMOUS,
  readSession,
  verifyAccessToken,
  type AccessClaims,
  type Identity,
  type Realm,
  type SessionRecord,
} from "@mallgraph/platform/auth";
import { ErrorCode } from "@mallgraph/platform/errors";
import type { Redis } from "@mallgraph/platform/redis";
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, type JWTVerifyGetKey } from "jose";
import { gatewayError } from "../errors.ts";
import { lookupCache } from "./lookupCache.ts";
import type { GatewayPlugin } from "./types.ts";

export interface AuthOptions {
  redis: Redis;
  /** REDIS_PREFIX of the deployment (sessions live under `<prefix>:{member}:session:<sid>`). */
  prefix: string;
  issuer: string;
  /** URL of the member subgraph's JWKS, or a key getter (tests). */
  jwks: URL | JWTVerifyGetKey;
  sessionCacheMs?: number;
  /** Verified tokens remembered until they expire (default 20,000). */
  maxCachedTokens?: number;
}

export interface AuthPlugin extends GatewayPlugin {
  /**
   * Verifies an `Authorization` value ("Bearer …"); undefined/empty → anonymous. Throws UNAUTHENTICATED.
   * `realm`: where only that realm's tokens are good (the operators' dashboard: admin).
   */
  authenticate(authorization: string | undefined | null, realm?: Realm): Promise<Identity>;
  /** Forget cached session lookups (called when a session is revoked). */
  evictSessions(sessionIds: readonly string[]): void;
}

const UNAUTH = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
  joseErrors.JWKInvalid,
];

export function useAuth(opts: AuthOptions): AuthPlugin {
  const getKey: JWTVerifyGetKey =
    opts.jwks instanceof URL ? createRemoteJWKSet(opts.jwks, { timeoutDuration: 3000, cooldownDuration: 5000 }) : opts.jwks;
  const sessions = lookupCache<SessionRecord>(opts.sessionCacheMs ?? 1000, 50_000, (sid) => readSession(opts.redis, opts.prefix, sid));
  const maxTokens = opts.maxCachedTokens ?? 20_000;
  /** token → its verified claims (until `exp`) and the identity last built from it. */
  const tokens = new Map<string, { claims: AccessClaims; expMs: number; record?: SessionRecord; identity?: Identity }>();

  async function verified(token: string): Promise<{ claims: AccessClaims; expMs: number; record?: SessionRecord; identity?: Identity }> {
    const hit = tokens.get(token);
    if (hit) {
      if (hit.expMs > Date.now()) return hit;
      tokens.delete(token);
    }
    let claims;
    try {
      claims = await verifyAccessToken(getKey, opts.issuer, token);
    } catch (e) {
      if (UNAUTH.some((c) => e instanceof c) || /token (lacks|has)/.test((e as Error).message)) {
        throw gatewayError(ErrorCode.UNAUTHENTICATED, e instanceof joseErrors.JWTExpired ? "access token expired" : "invalid access token");
      }
      throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, "cannot verify access tokens right now");
    }
    const exp = decodeJwt(token).exp;
    const entry = { claims, expMs: typeof exp === "number" ? exp * 1000 : 0 };
    if (maxTokens > 0 && entry.expMs > Date.now()) {
      if (tokens.size >= maxTokens) tokens.clear();
      tokens.set(token, entry);
    }
    return entry;
  }

  async function authenticate(authorization: string | undefined | null, realm?: Realm): Promise<Identity> {
    if (!authorization || !authorization.trim()) return ANONYMOUS;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (!token) throw gatewayError(ErrorCode.UNAUTHENTICATED, "the Authorization header must be `Bearer <access token>`");
    const entry = await verified(token);
    const { claims } = entry;
    // the token's audience is its realm's (verifyAccessToken): where the other realm is required, refuse
    if (realm && claims.realm !== realm) throw gatewayError(ErrorCode.UNAUTHENTICATED, `this needs an access token of the ${realm} realm`);
    const record = await sessions.get(claims.sid);
    if (!record || record.subject !== claims.sub || record.realm !== claims.realm) {
      throw gatewayError(ErrorCode.UNAUTHENTICATED, "session expired or revoked");
    }
    if (entry.record !== record || !entry.identity) {
      entry.record = record;
      entry.identity = Object.freeze({
        kind: claims.realm,
        id: claims.sub,
        sessionId: claims.sid,
        device: record.device ?? claims.dev,
        permissions: record.permissions ?? [],
      });
    }
    return entry.identity;
  }

  /**
   * The identity `authenticate` would return, when everything it needs is already in memory: the
   * token verified and unexpired, its session looked up within `sessionCacheMs` and unchanged since
   * the identity was built. Undefined sends the request through `authenticate` (the same checks,
   * with promises). A member's repeated requests take this path: no promise, no microtask.
   */
  function authenticatedNow(authorization: string | undefined): Identity | undefined {
    if (!authorization) return ANONYMOUS;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    const entry = token ? tokens.get(token) : undefined;
    if (!entry?.identity || entry.expMs <= Date.now()) return undefined;
    const record = sessions.peek(entry.claims.sid);
    return record && record === entry.record ? entry.identity : undefined;
  }

  return {
    name: "auth",
    authenticate,
    evictSessions(ids) {
      for (const id of ids) sessions.delete(id);
    },
    onRequest(state) {
      const authorization = state.headers["authorization"];
      const known = authenticatedNow(authorization);
      if (known) {
        state.identity = known;
        return;
      }
      return authenticate(authorization).then((identity) => {
        state.identity = identity;
      });
    },
  };
}
