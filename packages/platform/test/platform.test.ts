/**
 * Unit tests of the platform's token rules (signed identity header, access JWTs, signing keys), the
 * permission wrappers and configuration validation. Pure: no database or Redis needed.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT, decodeJwt, importJWK, type CryptoKey, type JWK } from "jose";
import {
  ANONYMOUS,
  generateSigningKey,
  loadSigningKey,
  signAccessToken,
  signIdentity,
  signingKeyFromJwk,
  verifyAccessToken,
  verifyIdentity,
  type Identity,
} from "../src/auth.ts";
import { asAdmin, asGatewayEvent, asInternal, asMember } from "../src/access.ts";
import { loadConfig } from "../src/config.ts";
import { keyFor } from "../src/redis.ts";

const SECRET = "unit-test-secret-0123456789";
const MEMBER: Identity = { kind: "member", id: "m-1", sessionId: "s-1", device: "APP" };

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { extensions?: { code?: string } }).extensions?.code;
  }
  return undefined;
};

describe("signed identity header (gateway → subgraph)", () => {
  it("round-trips an identity signed with the shared secret", () => {
    expect(verifyIdentity(SECRET, signIdentity(SECRET, MEMBER))).toEqual(MEMBER);
  });

  it("reads as anonymous when absent, malformed, signed with another secret, or tampered with", () => {
    expect(verifyIdentity(SECRET, undefined)).toBe(ANONYMOUS);
    expect(verifyIdentity(SECRET, "")).toBe(ANONYMOUS);
    expect(verifyIdentity(SECRET, "a.b")).toBe(ANONYMOUS);
    expect(verifyIdentity(SECRET, "not-a-header-at-all")).toBe(ANONYMOUS);
    // Forged from outside: the caller does not know the secret.
    const admin: Identity = { kind: "admin", id: "root", permissions: ["admin:write"], service: "gateway" };
    expect(verifyIdentity(SECRET, signIdentity("some-other-secret-abcdef", admin))).toBe(ANONYMOUS);
    // A genuine signature with a swapped body (member → admin) does not verify.
    const [, ts, sig] = signIdentity(SECRET, MEMBER).split(".");
    const body = Buffer.from(JSON.stringify(admin)).toString("base64url");
    expect(verifyIdentity(SECRET, `${body}.${ts}.${sig}`)).toBe(ANONYMOUS);
    // ...nor does a changed time stamp.
    const [b2, ts2, sig2] = signIdentity(SECRET, MEMBER).split(".");
    expect(verifyIdentity(SECRET, `${b2}.${Number(ts2) + 1}.${sig2}`)).toBe(ANONYMOUS);
  });

  it("is short-lived: older (or newer) than a minute reads as anonymous", () => {
    const now = Date.now();
    const header = signIdentity(SECRET, MEMBER, now);
    expect(verifyIdentity(SECRET, header, now + 59_000)).toEqual(MEMBER);
    expect(verifyIdentity(SECRET, header, now + 61_000)).toBe(ANONYMOUS);
    expect(verifyIdentity(SECRET, header, now - 61_000)).toBe(ANONYMOUS);
  });
});

describe("access tokens (EdDSA JWT, JWKS)", () => {
  it("signs and verifies sub, sid, realm and device", async () => {
    const { key } = await generateSigningKey();
    const token = await signAccessToken(key, "mallgraph", 900, { sub: "m-1", sid: "s-1", realm: "member", dev: "WEB" });
    expect(await verifyAccessToken(await importPublic(key.publicJwk), "mallgraph", token)).toEqual({
      sub: "m-1",
      sid: "s-1",
      realm: "member",
      dev: "WEB",
    });
  });

  it("refuses an expired token, another issuer, another key, a tampered payload and a missing realm", async () => {
    const { key } = await generateSigningKey();
    const { key: other } = await generateSigningKey();
    const pub = await importPublic(key.publicJwk);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ sid: "s-1", realm: "member" })
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
      .setSubject("m-1")
      .setIssuer("mallgraph")
      .setAudience("mallgraph:member")
      .setIssuedAt(past - 900)
      .setExpirationTime(past)
      .sign(key.privateKey);
    await expect(verifyAccessToken(pub, "mallgraph", expired)).rejects.toThrow(/exp/);
    const good = await signAccessToken(key, "mallgraph", 900, { sub: "m-1", sid: "s-1", realm: "member" });
    await expect(verifyAccessToken(pub, "someone-else", good)).rejects.toThrow(/iss/);
    const foreign = await signAccessToken(other, "mallgraph", 900, { sub: "m-1", sid: "s-1", realm: "admin" });
    await expect(verifyAccessToken(pub, "mallgraph", foreign)).rejects.toThrow();
    const [h, p, s] = good.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    const escalated = Buffer.from(JSON.stringify({ ...claims, realm: "admin" })).toString("base64url");
    await expect(verifyAccessToken(pub, "mallgraph", `${h}.${escalated}.${s}`)).rejects.toThrow();
    const noRealm = await new SignJWT({ sid: "s-1" }).setProtectedHeader({ alg: "EdDSA" }).setSubject("m-1").setIssuer("mallgraph").setAudience("mallgraph:member").setExpirationTime("5m").sign(key.privateKey);
    await expect(verifyAccessToken(pub, "mallgraph", noRealm)).rejects.toThrow(/realm/);
    const noSid = await new SignJWT({ realm: "member" }).setProtectedHeader({ alg: "EdDSA" }).setSubject("m-1").setIssuer("mallgraph").setAudience("mallgraph:member").setExpirationTime("5m").sign(key.privateKey);
    await expect(verifyAccessToken(pub, "mallgraph", noSid)).rejects.toThrow(/sid/);
    // An unsigned ("alg: none") token is never accepted.
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${p}.`;
    await expect(verifyAccessToken(pub, "mallgraph", none)).rejects.toThrow();
  });

  it("binds a token to its realm's audience: refused where the other realm is required, and with no or another realm's audience", async () => {
    const { key } = await generateSigningKey();
    const pub = await importPublic(key.publicJwk);
    const member = await signAccessToken(key, "mallgraph", 900, { sub: "m-1", sid: "s-1", realm: "member" });
    const admin = await signAccessToken(key, "mallgraph", 900, { sub: "op-1", sid: "s-2", realm: "admin" });
    expect(decodeJwt(member).aud).toBe("mallgraph:member");
    expect(decodeJwt(admin).aud).toBe("mallgraph:admin");
    expect((await verifyAccessToken(pub, "mallgraph", member, "member")).realm).toBe("member");
    expect((await verifyAccessToken(pub, "mallgraph", admin, "admin")).realm).toBe("admin");
    await expect(verifyAccessToken(pub, "mallgraph", member, "admin")).rejects.toThrow(/aud/);
    await expect(verifyAccessToken(pub, "mallgraph", admin, "member")).rejects.toThrow(/aud/);
    const sign = (claims: Record<string, unknown>, aud?: string | string[]) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: "EdDSA" }).setSubject("m-1").setIssuer("mallgraph").setExpirationTime("5m");
      return (aud ? jwt.setAudience(aud) : jwt).sign(key.privateKey);
    };
    await expect(verifyAccessToken(pub, "mallgraph", await sign({ sid: "s-1", realm: "member" }))).rejects.toThrow(/aud/);
    await expect(verifyAccessToken(pub, "mallgraph", await sign({ sid: "s-1", realm: "admin" }, "mallgraph:member"))).rejects.toThrow(/another realm/);
    await expect(verifyAccessToken(pub, "mallgraph", await sign({ sid: "s-1", realm: "admin" }, ["mallgraph:member", "mallgraph:admin"]))).rejects.toThrow(/another realm/);
  });

  it("publishes only the public half of the key, and keeps a generated key across restarts", async () => {
    const { privateJwk, key } = await generateSigningKey();
    expect(privateJwk.d).toBeDefined();
    expect(key.publicJwk.d).toBeUndefined();
    expect((await signingKeyFromJwk(privateJwk)).publicJwk).toEqual(key.publicJwk);
    const dir = mkdtempSync(path.join(tmpdir(), "mg-key-"));
    try {
      const a = await loadSigningKey(undefined, dir);
      const b = await loadSigningKey(undefined, dir);
      expect(b.kid).toBe(a.kid);
      expect(statSync(path.join(dir, "jwt-private.jwk")).mode & 0o077).toBe(0);
      expect((await loadSigningKey(JSON.stringify(privateJwk), dir)).kid).toBe(key.kid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("permission wrappers", () => {
  const ok = () => "ran";
  const ctx = (identity: Identity) => ({ identity, requestId: "r" });
  const admin = (permissions: string[]): Identity => ({ kind: "admin", id: "op-1", sessionId: "s", permissions });

  it("asMember needs a member", () => {
    expect(asMember(ok)(null, {}, ctx(MEMBER), null)).toBe("ran");
    expect(codeOf(() => asMember(ok)(null, {}, ctx(ANONYMOUS), null))).toBe("UNAUTHENTICATED");
    expect(codeOf(() => asMember(ok)(null, {}, ctx(admin(["member:read"])), null))).toBe("UNAUTHENTICATED");
  });

  it("asAdmin needs an operator holding the permission (or a trusted service)", () => {
    const f = asAdmin("message:read", ok);
    expect(f(null, {}, ctx(admin(["message:read"])), null)).toBe("ran");
    expect(f(null, {}, ctx({ kind: "internal", service: "order" }), null)).toBe("ran");
    expect(codeOf(() => f(null, {}, ctx(admin(["member:read"])), null))).toBe("FORBIDDEN");
    expect(codeOf(() => f(null, {}, ctx(MEMBER), null))).toBe("UNAUTHENTICATED");
    expect(codeOf(() => f(null, {}, ctx(ANONYMOUS), null))).toBe("UNAUTHENTICATED");
  });

  it("asInternal admits services only; asGatewayEvent only the gateway's subscription engine", () => {
    expect(asInternal(ok)(null, {}, ctx({ kind: "internal", service: "payment" }), null)).toBe("ran");
    for (const id of [MEMBER, admin(["admin:write"]), ANONYMOUS]) expect(codeOf(() => asInternal(ok)(null, {}, ctx(id), null))).toBe("FORBIDDEN");
    expect(asGatewayEvent(ok)(null, {}, ctx({ ...MEMBER, service: "gateway" }), null)).toBe("ran");
    expect(codeOf(() => asGatewayEvent(ok)(null, {}, ctx(MEMBER), null))).toBe("FORBIDDEN");
  });
});

describe("configuration", () => {
  it("works with an empty environment: local PostgreSQL/Redis, the documented ports and admin password", () => {
    const c = loadConfig({} as NodeJS.ProcessEnv);
    expect(c.DATABASE_URL).toBe("postgresql://postgres:postgres@127.0.0.1:5432/mallgraph");
    expect(c.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(c.GATEWAY_PORT).toBe(4000);
    expect(c.MEMBER_PORT).toBe(4001);
    expect(c.ADMIN_PASSWORD).toBe("admin123");
    expect(c.ACCESS_TOKEN_TTL_SECONDS).toBe(900);
  });

  it("refuses bad values at start, naming every bad variable", () => {
    const bad = { DATABASE_URL: "not a url", REDIS_PREFIX: "has spaces", INTERNAL_SECRET: "short", GATEWAY_PORT: "abc", LOG_LEVEL: "loud" } as unknown as NodeJS.ProcessEnv;
    let message = "";
    try {
      loadConfig(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^invalid configuration/);
    for (const name of Object.keys(bad)) expect(message).toContain(name);
    expect(loadConfig({ GATEWAY_PORT: "8080" } as unknown as NodeJS.ProcessEnv).GATEWAY_PORT).toBe(8080);
  });

  it("Redis keys carry the deployment prefix and one hash tag per domain", () => {
    expect(keyFor("mg", "member")("session", "abc")).toBe("mg:{member}:session:abc");
  });
});

async function importPublic(jwk: JWK): Promise<CryptoKey> {
  return (await importJWK(jwk, "EdDSA")) as CryptoKey;
}
