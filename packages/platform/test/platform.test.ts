/**
 * Unit tests of the platform's token rules (signed identity header, access JWTs, signing keys), the
 * permission wrappers and configuration validation. Pure: no database or Redis needed.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT, decodeJwt, importJWK, type CryptoKey, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { asAdmin, asGatewayEvent, asMember, internalFields } from "../src/access.ts";
import {
  ANONYMOUS,
  generateSigningKey,
  loadSigningKey,
  signAccessToken,
  checkIdentityHeader,
  identityMaxAgeMs,
  keyring,
  ReplayGuard,
  serviceIdentity,
  serviceKeys,
  signIdentity,
  signingKeyFromJwk,
  verifyAccessToken,
  verifyIdentity,
  type Identity,
} from "../src/auth.ts";
import { DATABASE_DOMAINS, databaseUrlOf, loadConfig } from "../src/config.ts";
import { entityKeyFor, keyFor, parseRedisClusterUrl } from "../src/redis.ts";
import { findNulCharacter } from "../src/subgraph.ts";

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

describe("signed identity header (gateway → subgraph, service → service)", () => {
  it("round-trips an identity and its request id, signed with the signer's own secret", () => {
    const h = checkIdentityHeader(SECRET, signIdentity(SECRET, MEMBER, { requestId: "req-1" }));
    expect(h).toEqual({ identity: MEMBER, signer: "gateway", requestId: "req-1" });
    const order = checkIdentityHeader(SECRET, signIdentity(SECRET, serviceIdentity("order")));
    expect(order.identity).toEqual({ kind: "internal", service: "order" });
    expect(order.signer).toBe("order");
  });

  it("reads as anonymous when absent, malformed, signed with another secret, or tampered with", () => {
    expect(verifyIdentity(SECRET, undefined)).toBe(ANONYMOUS);
    expect(checkIdentityHeader(SECRET, "").problem).toBeUndefined();
    expect(checkIdentityHeader(SECRET, "a.b").problem).toBe("malformed");
    expect(verifyIdentity(SECRET, "not-a-header-at-all")).toBe(ANONYMOUS);
    // Forged from outside: the caller does not know the secret.
    const admin: Identity = { kind: "admin", id: "root", permissions: ["admin:write"], service: "gateway" };
    expect(checkIdentityHeader(SECRET, signIdentity("some-other-secret-abcdef", admin)).problem).toBe("bad-signature");
    // A genuine signature with a swapped body (member → admin) does not verify.
    const parts = signIdentity(SECRET, MEMBER).split(".");
    parts[1] = Buffer.from(JSON.stringify(admin)).toString("base64url");
    expect(checkIdentityHeader(SECRET, parts.join(".")).problem).toBe("bad-signature");
    // ...nor does a changed time stamp, nor another signer's name on the same signature.
    const p2 = signIdentity(SECRET, MEMBER).split(".");
    p2[3] = String(Number(p2[3]) + 1);
    expect(checkIdentityHeader(SECRET, p2.join(".")).problem).toBe("bad-signature");
    const p3 = signIdentity(SECRET, serviceIdentity("lottery")).split(".");
    p3[0] = "order";
    expect(checkIdentityHeader(SECRET, p3.join(".")).problem).toBe("bad-signature");
  });

  it("each service signs with its own secret: one service's secret cannot speak for the gateway or another service", () => {
    const lotterySecret = keyring(SECRET).secretOf("lottery")!;
    // the lottery's secret only: as the gateway (an operator) or as order, the signature is wrong
    const onlyLottery = { secretOf: (s: string) => (s === "lottery" ? lotterySecret : undefined) };
    expect(() => signIdentity(onlyLottery, { kind: "admin", id: "x", permissions: ["*"] })).toThrow(/no secret/);
    const asOrder = signIdentity({ secretOf: () => lotterySecret }, serviceIdentity("order"));
    expect(checkIdentityHeader(SECRET, asOrder).problem).toBe("bad-signature");
    // a service claiming a member, an operator or another service with its own valid signature
    expect(checkIdentityHeader(SECRET, signIdentity(SECRET, MEMBER, { signer: "lottery" })).problem).toBe("identity-not-allowed");
    expect(checkIdentityHeader(SECRET, signIdentity(SECRET, serviceIdentity("order"), { signer: "lottery" })).problem).toBe(
      "identity-not-allowed",
    );
    // ...and the gateway never sends an internal identity
    expect(checkIdentityHeader(SECRET, signIdentity(SECRET, serviceIdentity("order"), { signer: "gateway" })).problem).toBe(
      "identity-not-allowed",
    );
    // SERVICE_SECRET_<NAME> replaces the derived default
    const own = "an-own-secret-of-the-lottery-0123456789";
    const keys = serviceKeys(loadConfig({ SERVICE_SECRET_LOTTERY: own } as unknown as NodeJS.ProcessEnv));
    expect(keys.secretOf("lottery")).toBe(own);
    expect(keys.secretOf("order")).toBe(keyring(loadConfig({} as NodeJS.ProcessEnv).INTERNAL_SECRET).secretOf("order"));
  });

  it("lives 5 s: an older header (or one from well in the future) is refused as expired", () => {
    const now = Date.now();
    const header = signIdentity(SECRET, MEMBER, { now });
    const maxAgeMs = identityMaxAgeMs({ NODE_ENV: "production", IDENTITY_HEADER_MAX_AGE_MS: "60000" } as unknown as NodeJS.ProcessEnv);
    expect(maxAgeMs).toBe(5_000);
    expect(checkIdentityHeader(SECRET, header, { now: now + 4_900, maxAgeMs }).identity).toEqual(MEMBER);
    expect(checkIdentityHeader(SECRET, header, { now: now + 5_100, maxAgeMs }).problem).toBe("expired");
    expect(checkIdentityHeader(SECRET, header, { now: now - 2_000, maxAgeMs }).problem).toBe("expired");
    // the test runner's stretch applies under NODE_ENV=test only
    expect(identityMaxAgeMs({ NODE_ENV: "test", IDENTITY_HEADER_MAX_AGE_MS: "60000" } as unknown as NodeJS.ProcessEnv)).toBe(60_000);
    expect(identityMaxAgeMs({ NODE_ENV: "development", IDENTITY_HEADER_MAX_AGE_MS: "60000" } as unknown as NodeJS.ProcessEnv)).toBe(5_000);
  });

  it("is good once: the same header shown again is refused as replayed; the guard forgets expired nonces", () => {
    const replay = new ReplayGuard();
    const now = Date.now();
    const at = (t: number) => ({ replay, now: t, maxAgeMs: 5_000 });
    const header = signIdentity(SECRET, serviceIdentity("order"), { now });
    expect(checkIdentityHeader(SECRET, header, at(now)).identity.kind).toBe("internal");
    expect(checkIdentityHeader(SECRET, header, at(now + 10)).problem).toBe("replayed");
    // two headers signed in the same millisecond for the same caller are different headers
    expect(checkIdentityHeader(SECRET, signIdentity(SECRET, MEMBER, { now }), at(now)).problem).toBeUndefined();
    expect(checkIdentityHeader(SECRET, signIdentity(SECRET, MEMBER, { now }), at(now)).problem).toBeUndefined();
    expect(replay.size).toBe(3);
    checkIdentityHeader(SECRET, signIdentity(SECRET, MEMBER, { now: now + 6_000 }), at(now + 6_000));
    expect(replay.size).toBe(1);
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
    const noRealm = await new SignJWT({ sid: "s-1" })
      .setProtectedHeader({ alg: "EdDSA" })
      .setSubject("m-1")
      .setIssuer("mallgraph")
      .setAudience("mallgraph:member")
      .setExpirationTime("5m")
      .sign(key.privateKey);
    await expect(verifyAccessToken(pub, "mallgraph", noRealm)).rejects.toThrow(/realm/);
    const noSid = await new SignJWT({ realm: "member" })
      .setProtectedHeader({ alg: "EdDSA" })
      .setSubject("m-1")
      .setIssuer("mallgraph")
      .setAudience("mallgraph:member")
      .setExpirationTime("5m")
      .sign(key.privateKey);
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
    await expect(verifyAccessToken(pub, "mallgraph", await sign({ sid: "s-1", realm: "admin" }, "mallgraph:member"))).rejects.toThrow(
      /another realm/,
    );
    await expect(
      verifyAccessToken(pub, "mallgraph", await sign({ sid: "s-1", realm: "admin" }, ["mallgraph:member", "mallgraph:admin"])),
    ).rejects.toThrow(/another realm/);
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

  it("asAdmin needs an operator holding the permission; a service holds none", () => {
    const f = asAdmin("message:read", ok);
    expect(f(null, {}, ctx(admin(["message:read"])), null)).toBe("ran");
    expect(codeOf(() => f(null, {}, ctx({ kind: "internal", service: "order" }), null))).toBe("FORBIDDEN");
    expect(codeOf(() => f(null, {}, ctx(admin(["member:read"])), null))).toBe("FORBIDDEN");
    expect(codeOf(() => f(null, {}, ctx(MEMBER), null))).toBe("UNAUTHENTICATED");
    expect(codeOf(() => f(null, {}, ctx(ANONYMOUS), null))).toBe("UNAUTHENTICATED");
  });

  it("internal fields admit the services their caller table names; asGatewayEvent only the gateway's subscription engine", () => {
    const asInternal = internalFields({ couponLock: ["order"] });
    expect(asInternal("couponLock", ok)(null, {}, ctx({ kind: "internal", service: "order" }), null)).toBe("ran");
    expect(codeOf(() => asInternal("couponLock", ok)(null, {}, ctx({ kind: "internal", service: "lottery" }), null))).toBe(
      "SERVICE_NOT_ALLOWED",
    );
    for (const id of [MEMBER, admin(["admin:write"]), ANONYMOUS])
      expect(codeOf(() => asInternal("couponLock", ok)(null, {}, ctx(id), null))).toBe("FORBIDDEN");
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
    const bad = {
      DATABASE_URL: "not a url",
      REDIS_PREFIX: "has spaces",
      INTERNAL_SECRET: "short",
      GATEWAY_PORT: "abc",
      LOG_LEVEL: "loud",
    } as unknown as NodeJS.ProcessEnv;
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

  it("<DOMAIN>_DATABASE_URL moves one domain to its own database; the others stay on DATABASE_URL, each in its schema", () => {
    const c = loadConfig({
      DATABASE_URL: "postgresql://u:p@shared:5432/mallgraph",
      ORDER_DATABASE_URL: "postgresql://u:p@orders:5433/orders?sslmode=require",
      CATALOG_DATABASE_URL: "",
    } as unknown as NodeJS.ProcessEnv);
    expect(databaseUrlOf(c, "order")).toBe("postgresql://u:p@orders:5433/orders?sslmode=require&schema=order");
    for (const d of DATABASE_DOMAINS.filter((d) => d !== "order"))
      expect(databaseUrlOf(c, d)).toBe(`postgresql://u:p@shared:5432/mallgraph?schema=${d}`);
    expect(() => loadConfig({ LOTTERY_DATABASE_URL: "not a url" } as unknown as NodeJS.ProcessEnv)).toThrow(/LOTTERY_DATABASE_URL/);
  });

  it("Redis keys carry the deployment prefix and one hash tag per domain, or one of their own entity", () => {
    expect(keyFor("mg", "member")("partnerKey", "abc")).toBe("mg:{member}:partnerKey:abc");
    expect(entityKeyFor("mg", "cart", "cart", "m1")()).toBe("mg:cart:{cart:m1}");
    expect(entityKeyFor("mg", "member", "session", "s1")("rt", "h")).toBe("mg:member:{session:s1}:rt:h");
  });

  it("REDIS_CLUSTER_NODES resolves REDIS_URL to the cluster form, keeping REDIS_URL's credentials and TLS", () => {
    const nodes = "10.0.0.1:7000, 10.0.0.2:7000,10.0.0.3:7001";
    expect(loadConfig({ REDIS_CLUSTER_NODES: nodes } as unknown as NodeJS.ProcessEnv).REDIS_URL).toBe(
      "redis-cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7001",
    );
    const tls = loadConfig({ REDIS_CLUSTER_NODES: nodes, REDIS_URL: "rediss://app:s3cret@redis:6380" } as unknown as NodeJS.ProcessEnv);
    expect(tls.REDIS_URL).toBe("rediss-cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7001");
    expect(parseRedisClusterUrl(tls.REDIS_URL)).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7000 },
        { host: "10.0.0.3", port: 7001 },
      ],
      username: "app",
      password: "s3cret",
      tls: true,
    });
    expect(parseRedisClusterUrl("redis://127.0.0.1:6379")).toBeNull();
    expect(loadConfig({ REDIS_CLUSTER_NODES: "" } as unknown as NodeJS.ProcessEnv).REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "just-a-host" } as unknown as NodeJS.ProcessEnv)).toThrow(
      /REDIS_CLUSTER_NODES: comma-separated host:port/,
    );
  });
});

describe("request guard of every subgraph", () => {
  it("finds a NUL character in variables (however deep) or in the document, and nothing in clean input", () => {
    expect(findNulCharacter({ query: "{ a }", variables: { input: { name: "ok", list: ["x", "y"] } } })).toBeUndefined();
    expect(findNulCharacter({ query: "{ a }", variables: { input: { list: ["x", "a\u0000b"] } } })).toBe("variables.input.list.1");
    expect(findNulCharacter({ query: '{ a(s: "x\\u0000") }' })).toBe("query");
    let deep: unknown = "a\u0000";
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(findNulCharacter({ variables: deep })).toMatch(/^variables\.d\.d/);
  });
});

async function importPublic(jwk: JWK): Promise<CryptoKey> {
  return (await importJWK(jwk, "EdDSA")) as CryptoKey;
}
