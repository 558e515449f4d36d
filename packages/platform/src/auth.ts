/**
 * Authentication shared by the gateway and the subgraphs.
 *
 * - Access tokens: short-lived JWTs signed by the member subgraph with an asymmetric key (EdDSA),
 *   published as JWKS; they name a server-side session (`sid`) that the gateway checks in Redis.
 * - Identity propagation: the gateway turns a verified token into an `Identity` and passes it to
 *   subgraphs in the `x-mg-identity` header; services calling each other send their own internal
 *   identity the same way. Each signer HMAC-signs with its own secret (SERVICE_SECRET_<NAME>), the
 *   header carries the request id, lives 5 s and is good once (decision 0017). A subgraph refuses a
 *   header that is forged, stale or replayed, and an identity its signer may not claim.
 */
import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  SignJWT,
  jwtVerify,
  generateKeyPair,
  exportJWK,
  importJWK,
  calculateJwkThumbprint,
  type JWK,
  type CryptoKey,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "./config.ts";
import { entityKeyFor, type KeyFn, type Redis } from "./redis.ts";

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

/** Every party that signs identity headers: the gateway and each domain's processes. */
export const SERVICES = ["gateway", "member", "catalog", "cart", "order", "payment", "promotion", "lottery"] as const;

/** A header is good for this long after it was signed (and 1 s before, for clocks a little apart). */
export const IDENTITY_TTL_MS = 5_000;
const MAX_FUTURE_SKEW_MS = 1_000;

/**
 * The age a verifier accepts: IDENTITY_TTL_MS. Only under the test runner (NODE_ENV=test) may
 * IDENTITY_HEADER_MAX_AGE_MS stretch it: suites firing hundreds of parallel requests at an
 * in-process subgraph on a CPU-starved machine would otherwise see their own headers expire.
 */
export function identityMaxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const stretched = Number(env.IDENTITY_HEADER_MAX_AGE_MS);
  return env.NODE_ENV === "test" && stretched > 0 ? stretched : IDENTITY_TTL_MS;
}

function hmac(secret: string, data: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

/**
 * The secrets services sign with: `secretOf(name)` is that service's own secret (a verifier holds
 * those of its callers). A plain string is a root secret every service's secret is derived from
 * (development and tests: INTERNAL_SECRET); `serviceKeys(config)` prefers SERVICE_SECRET_<NAME>.
 */
export interface Keyring {
  secretOf(service: string): string | undefined;
}
export type Keys = string | Keyring;

/** The development default of a service's secret: derived from the root secret and its name. */
export function derivedServiceSecret(root: string, service: string): string {
  return hmac(root, `mallgraph-service:${service}`);
}

const derivedRings = new Map<string, Keyring>();

export function keyring(keys: Keys, overrides: Partial<Record<string, string>> = {}): Keyring {
  if (typeof keys !== "string") return keys;
  const plain = Object.keys(overrides).length === 0;
  const cachedRing = plain ? derivedRings.get(keys) : undefined;
  if (cachedRing) return cachedRing;
  const derived = new Map<string, string>();
  const ring: Keyring = {
    secretOf(service) {
      const own = overrides[service];
      if (own) return own;
      let s = derived.get(service);
      if (!s) derived.set(service, (s = derivedServiceSecret(keys, service)));
      return s;
    },
  };
  if (plain) derivedRings.set(keys, ring);
  return ring;
}

/** The keyring of a deployment: SERVICE_SECRET_<NAME> where set, else derived from INTERNAL_SECRET. */
export function serviceKeys(config: Config): Keyring {
  const overrides: Record<string, string> = {};
  for (const s of SERVICES) {
    const v = config[`SERVICE_SECRET_${s.toUpperCase()}` as keyof Config];
    if (typeof v === "string" && v) overrides[s] = v;
  }
  return keyring(config.INTERNAL_SECRET, overrides);
}

/**
 * Replayed headers: the nonces seen while their headers are still fresh (bounded by the request
 * rate times the header's lifetime). One per process; a header sent to another instance of the
 * same subgraph is not caught (its 5 s lifetime bounds that).
 */
export class ReplayGuard {
  private seen = new Map<string, number>();
  private nextSweep = 0;

  /** True the first time a nonce is shown before `expiresAt`; false when it was seen already. */
  firstUse(nonce: string, expiresAt: number, now = Date.now()): boolean {
    if (now >= this.nextSweep) {
      for (const [n, until] of this.seen) if (until < now) this.seen.delete(n);
      this.nextSweep = now + 1_000;
    }
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface SignOptions {
  /** Who signs; default: the service an internal identity names, else the gateway. */
  signer?: string;
  requestId?: string;
  now?: number;
}

/**
 * Header value: `<signer>.<base64url(identity json)>.<base64url(request id)>.<issuedAtMs>.<nonce>.<hmac>`,
 * signed with the signer's own secret. A service other than the gateway may only sign its own
 * internal identity; the gateway signs the caller it authenticated (never an internal one).
 */
/**
 * The serialized part of an identity header, once per identity object: the gateway keeps one frozen
 * identity per session (useAuth) and services one per process, so only the per-request part (time,
 * request id, nonce) and the signature are computed per request.
 */
const serialized = new WeakMap<Identity, string>();

function identityBody(identity: Identity): string {
  let body = Object.isFrozen(identity) ? serialized.get(identity) : undefined;
  if (body === undefined) {
    body = Buffer.from(JSON.stringify(identity)).toString("base64url");
    if (Object.isFrozen(identity)) serialized.set(identity, body);
  }
  return body;
}

/** Header nonces: 12 random bytes each, taken from a pool the CSPRNG refills 4 KiB at a time (not one call per header). */
const NONCE_BYTES = 12;
const noncePool = Buffer.alloc(NONCE_BYTES * 341);
let nonceAt = noncePool.length;
function nonce(): string {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    randomFillSync(noncePool);
    nonceAt = 0;
  }
  nonceAt += NONCE_BYTES;
  return noncePool.toString("base64url", nonceAt - NONCE_BYTES, nonceAt);
}

export function signIdentity(keys: Keys, identity: Identity, opts: SignOptions = {}): string {
  const signer = opts.signer ?? (identity.kind === "internal" && identity.service ? identity.service : "gateway");
  const secret = keyring(keys).secretOf(signer);
  if (!secret) throw new Error(`no secret for service ${signer}`);
  const body = identityBody(identity);
  const rid = Buffer.from(opts.requestId ?? "").toString("base64url");
  const payload = `${signer}.${body}.${rid}.${opts.now ?? Date.now()}.${nonce()}`;
  return `${payload}.${hmac(secret, payload)}`;
}

export type HeaderProblem = "malformed" | "bad-signature" | "expired" | "replayed" | "identity-not-allowed";

export interface VerifiedHeader {
  identity: Identity;
  /** The service that signed it (absent when there was no good header). */
  signer?: string;
  requestId?: string;
  /** Why a header that was present is refused. */
  problem?: HeaderProblem;
}

/** Checks a header: signature by its signer's secret, age ≤ IDENTITY_TTL_MS, first use, and that the signer may claim that identity. */
export interface VerifyOptions {
  now?: number;
  replay?: ReplayGuard;
  /** Default identityMaxAgeMs(). */
  maxAgeMs?: number;
}

/** Identity bodies already decoded (frozen: one object serves every request that carries the body). */
const parsedBodies = new Map<string, Identity>();
const MAX_PARSED_BODIES = 20_000;

export function checkIdentityHeader(keys: Keys, header: string | undefined | null, opts: VerifyOptions = {}): VerifiedHeader {
  if (!header) return { identity: ANONYMOUS };
  const refuse = (problem: HeaderProblem): VerifiedHeader => ({ identity: ANONYMOUS, problem });
  const parts = header.split(".");
  if (parts.length !== 6) return refuse("malformed");
  const [signer, body, rid, ts, nonce, sig] = parts as [string, string, string, string, string, string];
  const secret = keyring(keys).secretOf(signer);
  if (!secret) return refuse("bad-signature");
  const expected = Buffer.from(hmac(secret, header.slice(0, header.length - sig.length - 1)));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refuse("bad-signature");
  const issued = Number(ts);
  const now = opts.now ?? Date.now();
  const maxAge = opts.maxAgeMs ?? identityMaxAgeMs();
  if (!Number.isFinite(issued) || now - issued > maxAge || issued - now > MAX_FUTURE_SKEW_MS) return refuse("expired");
  let identity = parsedBodies.get(body);
  if (!identity) {
    try {
      identity = Object.freeze(JSON.parse(Buffer.from(body, "base64url").toString("utf8"))) as Identity;
    } catch {
      return refuse("malformed");
    }
    // signed bodies repeat (the gateway signs one body per session): each is decoded once
    if (parsedBodies.size >= MAX_PARSED_BODIES) parsedBodies.clear();
    parsedBodies.set(body, identity);
  }
  const mayClaim =
    signer === "gateway"
      ? identity.kind !== "internal" && (identity.service === undefined || identity.service === "gateway")
      : identity.kind === "internal" && identity.service === signer;
  if (!mayClaim) return refuse("identity-not-allowed");
  if (opts.replay && !opts.replay.firstUse(`${signer}.${nonce}`, issued + maxAge, now)) return refuse("replayed");
  return { identity, signer, requestId: Buffer.from(rid, "base64url").toString("utf8") || undefined };
}

/** The identity a header carries, or ANONYMOUS when it is absent, forged, stale or replayed. */
export function verifyIdentity(keys: Keys, header: string | undefined | null, opts: VerifyOptions = {}): Identity {
  return checkIdentityHeader(keys, header, opts).identity;
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
  return {
    privateJwk: { ...privateJwk, kid, alg: JWT_ALG },
    key: { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: JWT_ALG, use: "sig" } },
  };
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
export async function verifyAccessToken(
  getKey: JWTVerifyGetKey | CryptoKey,
  issuer: string,
  token: string,
  realm?: Realm,
): Promise<AccessClaims> {
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

/** The keys of one session: `<prefix>:member:{session:<sid>}:…` (one Redis Cluster slot a session). */
export function sessionKeys(prefix: string, sid: string): KeyFn {
  return entityKeyFor(prefix, "member", "session", sid);
}

/** The session hash (member's session service writes it, the gateway reads it). */
export function sessionKey(prefix: string, sid: string): string {
  return sessionKeys(prefix, sid)();
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
