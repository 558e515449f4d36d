/**
 * End-to-end: the real stack (every subgraph, the workers and the gateway as processes) on a
 * throwaway database and Redis prefix, driven through the gateway with the member contract
 * operations of schema/operations/member.graphql over HTTP and graphql-ws.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IDENTITY_HEADER, signIdentity } from "../../packages/platform/src/auth.ts";
import { DOMAINS, loadConfig } from "../../packages/platform/src/config.ts";
import { createRedis } from "../../packages/platform/src/redis.ts";
import {
  createTestDatabase,
  createTestRedis,
  REPO_ROOT,
  waitFor,
  type TestDatabase,
  type TestRedis,
} from "../../packages/platform/src/testing.ts";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { memberKeys } from "../../subgraphs/member/src/keys.ts";
import { seed } from "../../subgraphs/member/src/seed.ts";
import { GraphQLHttpClient, operation, wsClient } from "./client.ts";

let db: TestDatabase;
let tr: TestRedis;
let stack: Stack;
let api: GraphQLHttpClient;
let adminToken: string;
const config = () => loadConfig({ ...process.env, ...stack.env });
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");

const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
const password = "Str0ng-pass!";

/**
 * The gateway refuses a revoked session at once when the member's session event reaches it first,
 * and at the latest when its ~1 s session cache expires (the documented bound): poll for 2.5 s.
 */
const refusedSoon = (token: string) =>
  waitFor(
    async () => {
      const r = await api.run("Me", {}, token);
      return r.status === 401 ? r : null;
    },
    "the revoked session to be refused",
    2500,
    50,
  );

/** The newest SMS code sent to `phone` that is not in `seen`, read as an operator (SentMessages). */
async function smsCode(seen: string[] = []): Promise<string> {
  return waitFor(
    async () => {
      const r = await api.ok("SentMessages", { recipient: phone }, adminToken);
      for (const m of r.sentMessages as Array<{ channel: string; body: string }>) {
        const code = /\b(\d{6})\b/.exec(m.body)?.[1];
        if (m.channel === "SMS" && code && !seen.includes(code)) return code;
      }
      return undefined;
    },
    "the SMS code to be sent by the message worker",
    15_000,
    100,
  );
}

beforeAll(async () => {
  const domains = DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations")));
  db = await createTestDatabase(domains);
  tr = createTestRedis();
  const env = { DATABASE_URL: db.url, REDIS_PREFIX: tr.prefix, NODE_ENV: "test", LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "info" };
  await seed(loadConfig({ ...process.env, ...env }));
  stack = await startStack({ env, randomPorts: true, readyTimeoutMs: 90_000 });
  api = new GraphQLHttpClient(stack.gatewayUrl);
  adminToken = (await api.ok("AdminLogin", { username: "admin", password: config().ADMIN_PASSWORD })).adminLogin.accessToken;
}, 180_000);

afterEach((ctx) => {
  // A failing end-to-end test shows what the processes said (kept in memory, not printed otherwise).
  if (ctx.task.result?.state === "fail" && stack) console.error(stack.logs());
});

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
  await tr?.cleanup();
  redis.disconnect();
});

describe("member contract through the gateway", () => {
  let web: { accessToken: string; refreshToken: string };
  let memberId: string;
  let firstCode: string;

  it("RequestSmsCode sends a code; a second request within 60 s is refused with retryAfterSeconds", async () => {
    expect((await api.ok("RequestSmsCode", { phone })).requestSmsCode).toEqual({ ok: true, retryAfterSeconds: 0 });
    const again = (await api.ok("RequestSmsCode", { phone })).requestSmsCode;
    expect(again.ok).toBe(false);
    expect(again.retryAfterSeconds).toBeGreaterThan(0);
    firstCode = await smsCode();
    expect(firstCode).toMatch(/^\d{6}$/);
  });

  it("SentMessages needs an operator", async () => {
    const r = await api.run("SentMessages", { recipient: phone });
    expect(["UNAUTHENTICATED", "FORBIDDEN"]).toContain(r.code);
  });

  it("Register creates the member with wallets; Me and AddAddress work with its token", async () => {
    const r = (await api.ok("Register", { input: { phone, smsCode: firstCode, password, device: "WEB" } })).register;
    expect(r.member.phone).toBe(phone);
    web = { accessToken: r.accessToken, refreshToken: r.refreshToken };
    memberId = r.member.id;

    const me = (await api.ok("Me", {}, web.accessToken)).me;
    expect(me).toMatchObject({ id: memberId, phone, addresses: [] });
    expect(me.wallets.map((w: any) => w.currency).sort()).toEqual(expect.arrayContaining(["CNY", "JPY", "USD"]));

    const address = (
      await api.ok(
        "AddAddress",
        { input: { receiver: "Li Lei", phone, region: "Shanghai", detail: "88 Nanjing Rd", isDefault: true } },
        web.accessToken,
      )
    ).addAddress;
    expect(address.isDefault).toBe(true);
    const after = (await api.ok("Me", {}, web.accessToken)).me;
    expect(after.addresses).toEqual([
      { id: address.id, receiver: "Li Lei", phone, region: "Shanghai", detail: "88 Nanjing Rd", isDefault: true },
    ]);

    const anonymous = await api.run("Me");
    expect(anonymous.data?.me ?? null).toBeNull();
  });

  it("a partner client runs a trusted operation by its manifest id only", async () => {
    const byId = await api.raw(
      undefined,
      {},
      {
        token: web.accessToken,
        clientName: "partner-acme",
        extensions: { persistedQuery: { version: 1, sha256Hash: operation("Me").id } },
      },
    );
    expect(byId.data?.me.id).toBe(memberId);
    const untrusted = await api.raw("{ me { id } }", {}, { token: web.accessToken, clientName: "partner-acme" });
    expect(untrusted.code).toBe("OPERATION_NOT_TRUSTED");
  });

  it("RefreshSession rotates the refresh token; reusing the old one revokes the session", async () => {
    const next = (await api.ok("RefreshSession", { refreshToken: web.refreshToken })).refreshSession;
    expect(next.refreshToken).not.toBe(web.refreshToken);
    expect((await api.ok("Me", {}, next.accessToken)).me.id).toBe(memberId);

    const reuse = await api.run("RefreshSession", { refreshToken: web.refreshToken });
    expect(reuse.code).toBe("INVALID_REFRESH_TOKEN");
    const afterReuse = await api.run("RefreshSession", { refreshToken: next.refreshToken });
    expect(afterReuse.code).toBe("INVALID_REFRESH_TOKEN");
    const me = await refusedSoon(next.accessToken);
    expect(me.status).toBe(401);
    expect(me.code).toBe("UNAUTHENTICATED");
  });

  it("a second login on the same device type kicks the first: its sessionEvents subscription gets KICKED_OUT and its next request is UNAUTHENTICATED", async () => {
    const other = (await api.ok("LoginWithPassword", { phone, password, device: "WEB" })).loginWithPassword;
    const app1 = (await api.ok("LoginWithPassword", { phone, password, device: "APP" })).loginWithPassword;
    expect(app1.member.id).toBe(memberId);

    const ws = wsClient(stack.gatewayUrl, app1.accessToken);
    const events: any[] = [];
    const errors: unknown[] = [];
    ws.subscribe(
      { query: "subscription { sessionEvents { type device at reason } }" },
      { next: (r) => void events.push(r), error: (e) => void errors.push(e), complete: () => undefined },
    );
    const metricsUrl = stack.gatewayUrl.replace("/graphql", "/metrics");
    await waitFor(
      async () => /mg_gateway_subscriptions_active\{field="sessionEvents"\} 1/.test(await (await fetch(metricsUrl)).text()),
      "the subscription to be live",
      15_000,
      100,
    );

    // Fast-forward the 60 s resend guard of the SMS code (a test may not wait a minute).
    await redis.del(memberKeys(tr.prefix).smsGuard(phone));
    expect((await api.ok("RequestSmsCode", { phone })).requestSmsCode.ok).toBe(true);
    const code = await smsCode([firstCode]);
    const app2 = (await api.ok("LoginWithSmsCode", { phone, smsCode: code, device: "APP" })).loginWithSmsCode;
    expect(app2.member.id).toBe(memberId);

    await waitFor(async () => events.length >= 1, "the KICKED_OUT event", 15_000, 100);
    expect(errors).toEqual([]);
    expect(events[0].data.sessionEvents).toMatchObject({ type: "KICKED_OUT", device: "APP" });
    expect(typeof events[0].data.sessionEvents.at).toBe("string");

    const kicked = await api.run("Me", {}, app1.accessToken);
    expect(kicked.code).toBe("UNAUTHENTICATED");
    expect((await api.ok("Me", {}, app2.accessToken)).me.id).toBe(memberId);
    expect((await api.ok("Me", {}, other.accessToken)).me.id).toBe(memberId); // another device type stays
    await ws.dispose();
  });

  it("Logout revokes the session at once: the same access token is refused afterwards", async () => {
    const s = (await api.ok("LoginWithPassword", { phone, password, device: "MINI_PROGRAM" })).loginWithPassword;
    expect((await api.ok("Me", {}, s.accessToken)).me.id).toBe(memberId);
    expect((await api.ok("Logout", {}, s.accessToken)).logout).toBe(true);
    const after = await refusedSoon(s.accessToken);
    expect(after.status).toBe(401);
    expect(after.code).toBe("UNAUTHENTICATED");
    expect((await api.run("RefreshSession", { refreshToken: s.refreshToken })).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("bad input gets a clear code through the gateway and writes nothing; forged identity headers get nothing", async () => {
    const members = async () =>
      (await api.raw(`{ adminMembers(first: 100) { items { id } } }`, {}, { token: adminToken })).data.adminMembers.items.length as number;
    const before = await members();
    const stranger = `137${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    for (const p of ["12345", "23800138000", "1380013800a"])
      expect((await api.run("RequestSmsCode", { phone: p })).code).toBe("BAD_USER_INPUT");
    expect((await api.run("Register", { input: { phone: "999", smsCode: "123456" } })).code).toBe("BAD_USER_INPUT");
    // No code was ever sent to this phone (or it expired): SMS_CODE_EXPIRED.
    expect((await api.run("Register", { input: { phone: stranger, smsCode: "123456" } })).code).toBe("SMS_CODE_EXPIRED");
    expect((await api.ok("RequestSmsCode", { phone: stranger })).requestSmsCode.ok).toBe(true);
    const right = await waitFor(
      async () => {
        const r = await api.ok("SentMessages", { recipient: stranger }, adminToken);
        return /\b(\d{6})\b/.exec(r.sentMessages[0]?.body ?? "")?.[1];
      },
      "the stranger's SMS code",
      15_000,
      100,
    );
    expect((await api.run("Register", { input: { phone: stranger, smsCode: right === "000000" ? "111111" : "000000" } })).code).toBe(
      "INVALID_SMS_CODE",
    );
    expect(await members()).toBe(before);
    for (const p of ["12345", "999"]) expect((await api.ok("SentMessages", { recipient: p }, adminToken)).sentMessages).toEqual([]);

    // Identity headers from outside are dropped by the gateway, even when signed with the real secret.
    const secret = config().INTERNAL_SECRET;
    const forgedMember = signIdentity(secret, { kind: "member", id: memberId });
    const forgedAdmin = signIdentity(secret, { kind: "admin", id: "root", permissions: ["message:read", "member:read"] });
    const asMember = await api.raw(operation("Me").body, {}, { headers: { [IDENTITY_HEADER]: forgedMember } });
    expect(asMember.data?.me ?? null).toBeNull();
    expect(asMember.code).toBe("UNAUTHENTICATED");
    const asAdmin = await api.raw(operation("SentMessages").body, { recipient: phone }, { headers: { [IDENTITY_HEADER]: forgedAdmin } });
    expect(asAdmin.code).toBe("UNAUTHENTICATED");
    expect(asAdmin.data?.sentMessages ?? null).toBeNull();
  });

  it("after 5 failed logins in a day the 6th fails with ACCOUNT_LOCKED even with the right password", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await api.run("LoginWithPassword", { phone, password: `wrong-${i}`, device: "WEB" });
      expect(r.code).toBe("INVALID_CREDENTIALS");
    }
    const locked = await api.run("LoginWithPassword", { phone, password, device: "WEB" });
    expect(locked.code).toBe("ACCOUNT_LOCKED");
  });
});
