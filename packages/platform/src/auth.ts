/**
 * Authentication shared by the gateway and the subgraphs.
 *
 * - Access tokens: short-lived JWTs signed by the member subgraph with an asymmetric key (EdDSA),
 *   published as JWKS; they name a server-side session (`sid`) that the gateway checks in Redis.
 * - Identity propagation: the gateway turns a verified token into an `Identity` and passes it to
 *   subgraphs in the `x-mg-identity` header, HMAC-signed with INTERNAL_SECRET and time-stamped.
 *   A subgraph trusts only a header whose signature verifies; anything forged reads as anonymous.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SignJWT, jwtVerify, generateKeyPair, exportJWK, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey, type JWTVerifyGetKey } from "jose";
import type { Redis } from "ioredis";
import { keyFor } from "./redis.ts";

export type Realm = "member" | "admin";
export const REALMS: readonly Realm[] = ["member", "admin"];

export interface Identity {
  kind: "anonymous" | "member" | "admin" | "internal" | "partner";
  /** Member id, operator id or partner key id. */
  id?: string;
  sessionId?: string;
  device?: string;
  /** Operator permissions (admin realm only). */
  permissions?: string[];
  /** Set when a trusted service (the gateway's subscription engine, another subgraph) calls. */
  service?: string;
}

export const ANONYMOUS: Identity = Object.freeze({ kind: "anonymous" }) as Identity;
export const IDENTITY_HEADER = "x-mg-identity";

const MAX_SKEW_MS = 60_000;

function hmac(secret: string, data: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

/** Header value: `<base64url(json)>.<issuedAtMs>.<hmac>`. */
export function signIdentity(secret: string, identity: Identity, now = Date.now()): string {
  const body = Buffer.from(JSON.stringify(identity)).toString("base64url");
  const payload = `${body}.${now}`;
  return `${payload}.${hmac(secret, payload)}`;
}

/** Returns the identity a header carries, or ANONYMOUS when it is absent, forged, or stale. */
export function verifyIdentity(secret: string, header: string | undefined | null, now = Date.now()): Identity {
  if (!header) return ANONYMOUS;
  const parts = header.split(".");
  if (parts.length !== 3) return ANONYMOUS;
  const [body, ts, sig] = parts as [string, string, string];
  const expected = Buffer.from(hmac(secret, `${body}.${ts}`));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return ANONYMOUS;
  const issued = Number(ts);
  if (!Number.isFinite(issued) || Math.abs(now - issued) > MAX_SKEW_MS) return ANONYMOUS;
  try {
    return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Identity;
  } catch {
    return ANONYMOUS;
  }
}

/** The identity a service uses for its own calls to another subgraph. */
export function serviceIdentity(service: string): Identity {
  return { kind: "internal", service };
}

// ------------------------------------------------------------------ signing keys and JWTs

export const JWT_ALG = "EdDSA";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<{ privateJwk: JWK; key: SigningKey }> {
  const { privateKey, publicKey } = await generateKeyPair(JWT_ALG, { crv: "Ed25519", extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateJwk: { ...privateJwk, kid, alg: JWT_ALG }, key: { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: JWT_ALG, use: "sig" } } };
}

export async function signingKeyFromJwk(privateJwk: JWK): Promise<SigningKey> {
  const privateKey = (await importJWK({ ...privateJwk, alg: JWT_ALG }, JWT_ALG)) as CryptoKey;
  const { d: _d, ...pub } = privateJwk;
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(pub));
  return { kid, privateKey, publicJwk: { ...pub, kid, alg: JWT_ALG, use: "sig" } };
}

/**
 * The signing key: JWT_PRIVATE_JWK when set, otherwise one kept in `.data/jwt-private.jwk`
 * (generated on first use) so that a developer's tokens survive restarts.
 */
export async function loadSigningKey(envJwk: string | undefined, dataDir = path.resolve(".data")): Promise<SigningKey> {
  if (envJwk) return signingKeyFromJwk(JSON.parse(envJwk) as JWK);
  const file = path.join(dataDir, "jwt-private.jwk");
  if (existsSync(file)) return signingKeyFromJwk(JSON.parse(readFileSync(file, "utf8")) as JWK);
  const { privateJwk, key } = await generateSigningKey();
  mkdirSync(dataDir, { recursive: true });
  // write-then-rename: a process starting at the same moment never reads a half-written key
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(privateJwk), { mode: 0o600 });
  renameSync(tmp, file);
  return key;
}

export interface AccessClaims {
  sub: string;
  sid: string;
  realm: Realm;
  dev?: string;
}

/** The `aud` of a realm's access tokens: a token is good only where its realm is expected. */
export function accessAudience(issuer: string, realm: Realm): string {
  return `${issuer}:${realm}`;
}

export async function signAccessToken(key: SigningKey, issuer: string, ttlSeconds: number, claims: AccessClaims): Promise<string> {
  return new SignJWT({ sid: claims.sid, realm: claims.realm, dev: claims.dev })
    .setProtectedHeader({ alg: JWT_ALG, kid: key.kid, typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(issuer)
    .setAudience(accessAudience(issuer, claims.realm))
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key.privateKey);
}

/**
 * Verifies signature, issuer, expiry and audience; throws on any failure. The audience must be the
 * one of the token's own realm, and of `realm` when the caller requires one (an operator's token is
 * refused where a member's is required, and the other way round).
 */
export async function verifyAccessToken(getKey: JWTVerifyGetKey | CryptoKey, issuer: string, token: string, realm?: Realm): Promise<AccessClaims> {
  const audience = realm ? [accessAudience(issuer, realm)] : REALMS.map((r) => accessAudience(issuer, r));
  const { payload } = await jwtVerify(token, getKey as JWTVerifyGetKey, { issuer, audience, algorithms: [JWT_ALG] });
  if (typeof payload.sub !== "string" || typeof payload.sid !== "string") throw new Error("token lacks sub/sid");
  if (payload.realm !== "member" && payload.realm !== "admin") throw new Error("token has no realm");
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.length !== 1 || aud[0] !== accessAudience(issuer, payload.realm)) throw new Error("token has an audience of another realm");
  return { sub: payload.sub, sid: payload.sid, realm: payload.realm, dev: payload.dev as string | undefined };
}

// ------------------------------------------------------------------ server-side sessions

/**
 * Sessions live in Redis under the member domain's keys; the member subgraph writes them and the
 * gateway reads them to decide whether an access token's session is still live.
 */
export interface SessionRecord {
  realm: Realm;
  subject: string;
  device: string;
  /** JSON array of permission names (admin realm). */
  permissions: string[];
  createdAt: number;
}

export function sessionKey(prefix: string, sid: string): string {
  return keyFor(prefix, "member")("session", sid);
}

export async function readSession(redis: Redis, prefix: string, sid: string): Promise<SessionRecord | null> {
  const h = await redis.hgetall(sessionKey(prefix, sid));
  if (!h || !h.subject) return null;
  return {
    realm: h.realm as Realm,
    subject: h.subject,
    device: h.device ?? "WEB",
    permissions: h.permissions ? (JSON.parse(h.permissions) as string[]) : [],
    createdAt: Number(h.createdAt ?? 0),
  };
}
