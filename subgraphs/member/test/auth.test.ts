import { readSession, sessionKey } from "@mallgraph/platform/auth";
import { eventChannel } from "@mallgraph/platform/events";
import { createRedis, scanKeys } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, newPhone, registerMember, REGISTER, REQUEST_CODE, waitFor, type Harness } from "./helpers.ts";

const LOGIN_PW = `mutation($phone: String!, $password: String!, $device: DeviceType) { loginWithPassword(phone: $phone, password: $password, device: $device) { accessToken refreshToken member { id } } }`;
const LOGIN_SMS = `mutation($phone: String!, $smsCode: String!, $device: DeviceType) { loginWithSmsCode(phone: $phone, smsCode: $smsCode, device: $device) { accessToken refreshToken member { id } } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }`;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

describe("member auth: SMS codes, registration, logins, sessions", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
  });
  afterAll(async () => {
    await h?.close();
  });
  const memberCount = () => h.sg.services.prisma.member.count();

  it("serves the JWKS the gateway verifies tokens with", async () => {
    const res = await fetch(h.sg.url.replace("/graphql", "/.well-known/jwks.json"));
    const body = (await res.json()) as { keys: Array<Record<string, string>> };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(body.keys[0]!.d).toBeUndefined();
  });

  it("sends a 6-digit code through the message worker and refuses a resend within 60 s", async () => {
    const phone = newPhone();
    expect((await h.ok(REQUEST_CODE, { phone })).requestSmsCode).toEqual({ ok: true, retryAfterSeconds: 0 });
    const c = await h.smsCode(phone);
    expect(c).toMatch(/^\d{6}$/);
    const again = (await h.ok(REQUEST_CODE, { phone })).requestSmsCode;
    expect(again.ok).toBe(false);
    expect(again.retryAfterSeconds).toBeGreaterThan(0);
    expect(again.retryAfterSeconds).toBeLessThanOrEqual(60);
    const k = h.sg.services.keys;
    expect(await h.sg.services.redis.ttl(k.smsCode(phone))).toBeGreaterThan(240);
    // Exactly one message went out.
    expect(await h.sg.services.prisma.message.count({ where: { recipient: phone } })).toBe(1);
    // Once the guard is gone (60 s later), a new code replaces the old one.
    await h.sg.services.redis.del(k.smsGuard(phone));
    expect((await h.ok(REQUEST_CODE, { phone })).requestSmsCode.ok).toBe(true);
    await h.smsCode(phone, 2);
  });

  it("only one of 20 parallel requests for one phone sends a code", async () => {
    const phone = newPhone();
    const rs = await Promise.all(Array.from({ length: 20 }, () => h.ok(REQUEST_CODE, { phone })));
    expect(rs.filter((r) => r.requestSmsCode.ok)).toHaveLength(1);
    await h.smsCode(phone);
    expect(await h.sg.services.prisma.message.count({ where: { recipient: phone } })).toBe(1);
  });

  it("malformed phone: BAD_USER_INPUT, nothing stored or sent", async () => {
    const keysBefore = await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{sms:*`);
    for (const phone of ["12345", "23800138000", "1380013800a"]) expect(code(await h.gql(REQUEST_CODE, { phone }))).toBe("BAD_USER_INPUT");
    expect(await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{sms:*`)).toEqual(keysBefore);
    const r = await h.gql(REGISTER, { input: { phone: "999", smsCode: "123456" } });
    expect(code(r)).toBe("BAD_USER_INPUT");
  });

  it("registers with phone + code (+ password): wallet accounts for every currency, logged in", async () => {
    const before = await memberCount();
    const m = await registerMember(h, { password: "hunter22" });
    expect(await memberCount()).toBe(before + 1);
    expect(m.identity).toMatchObject({ kind: "member", id: m.memberId, device: "WEB" });
    const me = await h.ok(`{ me { id phone wallets { currency balance frozen } addresses { id } } }`, {}, m.identity);
    expect(me.me).toEqual({
      id: m.memberId,
      phone: m.phone,
      wallets: [
        { currency: "CNY", balance: "0.00", frozen: "0.00" },
        { currency: "JPY", balance: "0", frozen: "0" },
        { currency: "USD", balance: "0.00", frozen: "0.00" },
      ],
      addresses: [],
    });
    const stored = await h.sg.services.prisma.member.findUniqueOrThrow({ where: { id: m.memberId } });
    expect(stored.passwordHash).toMatch(/^scrypt\$/);
    // The session hash has the fields readSession() reads, with TTL = refresh TTL.
    const s = await readSession(h.sg.services.redis, h.config.REDIS_PREFIX, m.identity.sessionId!);
    expect(s).toMatchObject({ realm: "member", subject: m.memberId, device: "WEB", permissions: [] });
    const ttl = await h.sg.services.redis.ttl(sessionKey(h.config.REDIS_PREFIX, m.identity.sessionId!));
    expect(ttl).toBeGreaterThan(h.config.REFRESH_TOKEN_TTL_SECONDS - 60);
    // The refresh token is stored only as its hash.
    const all = await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:*`);
    expect(all.some((k) => k.includes(m.refreshToken))).toBe(false);
  });

  it("register: a used code cannot be used again; duplicate phone and username → ALREADY_EXISTS, nothing written", async () => {
    const phone = newPhone();
    await h.ok(REQUEST_CODE, { phone });
    const smsCode = await h.smsCode(phone);
    await h.ok(REGISTER, { input: { phone, smsCode, username: "alice_1" } });
    const before = await memberCount();
    expect(code(await h.gql(REGISTER, { input: { phone, smsCode } }))).toBe("ALREADY_EXISTS");
    const other = newPhone();
    await h.ok(REQUEST_CODE, { phone: other });
    const c2 = await h.smsCode(other);
    expect(code(await h.gql(REGISTER, { input: { phone: other, smsCode: c2, username: "alice_1" } }))).toBe("ALREADY_EXISTS");
    expect(await memberCount()).toBe(before);
    // The code was not spent by the refused registration; with another username it works once.
    await h.ok(REGISTER, { input: { phone: other, smsCode: c2, username: "alice_2" } });
    expect(code(await h.gql(LOGIN_SMS, { phone: other, smsCode: c2 }))).toBe("SMS_CODE_EXPIRED");
  });

  it("wrong code → INVALID_SMS_CODE, absent/expired code → SMS_CODE_EXPIRED; nothing written", async () => {
    const before = await memberCount();
    const accountsBefore = await h.sg.services.prisma.walletAccount.count();
    const phone = newPhone();
    expect(code(await h.gql(REGISTER, { input: { phone, smsCode: "123456" } }))).toBe("SMS_CODE_EXPIRED");
    await h.ok(REQUEST_CODE, { phone });
    const right = await h.smsCode(phone);
    const wrong = right === "000000" ? "111111" : "000000";
    expect(code(await h.gql(REGISTER, { input: { phone, smsCode: wrong } }))).toBe("INVALID_SMS_CODE");
    // Expiry: the code's key lapses (its TTL is 5 minutes; we let Redis expire it now).
    await h.sg.services.redis.pexpire(h.sg.services.keys.smsCode(phone), 1);
    await waitFor(async () => (await h.sg.services.redis.exists(h.sg.services.keys.smsCode(phone))) === 0, "code expiry");
    expect(code(await h.gql(REGISTER, { input: { phone, smsCode: right } }))).toBe("SMS_CODE_EXPIRED");
    expect(await memberCount()).toBe(before);
    expect(await h.sg.services.prisma.walletAccount.count()).toBe(accountsBefore);
  });

  it("wrong tries are counted: after 5 wrong codes the code is burned", async () => {
    const phone = newPhone();
    await h.ok(REQUEST_CODE, { phone });
    const right = await h.smsCode(phone);
    const wrong = right === "999999" ? "888888" : "999999";
    for (let i = 0; i < 5; i++) expect(code(await h.gql(REGISTER, { input: { phone, smsCode: wrong } }))).toBe("INVALID_SMS_CODE");
    expect(code(await h.gql(REGISTER, { input: { phone, smsCode: right } }))).toBe("SMS_CODE_EXPIRED");
  });

  it("logs in with password and with SMS code; wrong password → INVALID_CREDENTIALS without revealing the phone", async () => {
    const m = await registerMember(h, { password: "correct-horse" });
    const a = await h.ok(LOGIN_PW, { phone: m.phone, password: "correct-horse", device: "APP" });
    expect(a.loginWithPassword.member.id).toBe(m.memberId);
    expect(await h.identityFromToken(a.loginWithPassword.accessToken)).toMatchObject({ kind: "member", id: m.memberId, device: "APP" });
    const wrong = await h.gql(LOGIN_PW, { phone: m.phone, password: "wrong-horse" });
    const unknown = await h.gql(LOGIN_PW, { phone: newPhone(), password: "wrong-horse" });
    expect(code(wrong)).toBe("INVALID_CREDENTIALS");
    expect(code(unknown)).toBe("INVALID_CREDENTIALS");
    expect(wrong.errors![0]!.message).toBe(unknown.errors![0]!.message);

    await h.sg.services.redis.del(h.sg.services.keys.smsGuard(m.phone));
    await h.ok(REQUEST_CODE, { phone: m.phone });
    const c = await h.smsCode(m.phone, 2);
    const b = await h.ok(LOGIN_SMS, { phone: m.phone, smsCode: c, device: "MINI_PROGRAM" });
    expect(b.loginWithSmsCode.member.id).toBe(m.memberId);
    // Single use.
    expect(code(await h.gql(LOGIN_SMS, { phone: m.phone, smsCode: c }))).toBe("SMS_CODE_EXPIRED");
  });

  it("the 6th login after 5 failures in a day is ACCOUNT_LOCKED, even with the right password", async () => {
    const m = await registerMember(h, { password: "right-password" });
    for (let i = 0; i < 5; i++) expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: `wrong-${i}` }))).toBe("INVALID_CREDENTIALS");
    const r = await h.gql(LOGIN_PW, { phone: m.phone, password: "right-password" });
    expect(code(r)).toBe("ACCOUNT_LOCKED");
    // SMS login is locked as well; the counter expires when the (UTC+8) day ends.
    expect(code(await h.gql(LOGIN_SMS, { phone: m.phone, smsCode: "123456" }))).toBe("ACCOUNT_LOCKED");
    const keys = await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{login:member:${m.phone}}:fail:*`);
    expect(keys).toHaveLength(1);
    const ttl = await h.sg.services.redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
    // When the day is over (the counter expired) the right password works again.
    await h.sg.services.redis.del(keys[0]!);
    expect((await h.ok(LOGIN_PW, { phone: m.phone, password: "right-password" })).loginWithPassword.member.id).toBe(m.memberId);
  });

  it("30 parallel wrong passwords: exactly 5 are checked, 25 are ACCOUNT_LOCKED; a success does not count", async () => {
    const m = await registerMember(h, { password: "burst-pass-1" });
    // Two right logins first: they do not use up the day's failure budget.
    for (let i = 0; i < 2; i++) await h.ok(LOGIN_PW, { phone: m.phone, password: "burst-pass-1" });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => h.gql(LOGIN_PW, { phone: m.phone, password: `guess-${i}` })));
    expect(rs.filter((r) => code(r) === "INVALID_CREDENTIALS")).toHaveLength(5);
    // The rest were refused unchecked: locked, or (while the 5 were still in flight) told to retry.
    expect(rs.filter((r) => code(r) === "ACCOUNT_LOCKED" || code(r) === "RATE_LIMITED")).toHaveLength(25);
    expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: "burst-pass-1" }))).toBe("ACCOUNT_LOCKED");
  });

  it("refresh rotates; presenting a rotated token again revokes the whole session", async () => {
    const m = await registerMember(h, { password: "pw-123456", device: "APP" });
    const r1 = (await h.ok(REFRESH, { t: m.refreshToken })).refreshSession;
    expect(r1.refreshToken).not.toBe(m.refreshToken);
    const id1 = await h.identityFromToken(r1.accessToken);
    expect(id1).toMatchObject({ id: m.memberId, sessionId: m.identity.sessionId, device: "APP" });
    // The old one stopped working: reuse → INVALID_REFRESH_TOKEN and the session is gone.
    expect(code(await h.gql(REFRESH, { t: m.refreshToken }))).toBe("INVALID_REFRESH_TOKEN");
    expect(await readSession(h.sg.services.redis, h.config.REDIS_PREFIX, m.identity.sessionId!)).toBeNull();
    expect(await h.identityFromToken(r1.accessToken)).toBeNull();
    // ...and so is the newest refresh token of that session.
    expect(code(await h.gql(REFRESH, { t: r1.refreshToken }))).toBe("INVALID_REFRESH_TOKEN");
    expect(code(await h.gql(REFRESH, { t: "not-a-token-at-all-not-a-token" }))).toBe("INVALID_REFRESH_TOKEN");
  });

  it("a chain of rotations keeps one live session", async () => {
    const m = await registerMember(h);
    let t = m.refreshToken;
    for (let i = 0; i < 5; i++) t = (await h.ok(REFRESH, { t })).refreshSession.refreshToken;
    const s = await readSession(h.sg.services.redis, h.config.REDIS_PREFIX, m.identity.sessionId!);
    expect(s?.subject).toBe(m.memberId);
  });

  it("a second login on the same device type kicks the first: session gone and a live event published", async () => {
    const m = await registerMember(h, { password: "kick-me-123" });
    const first = (await h.ok(LOGIN_PW, { phone: m.phone, password: "kick-me-123", device: "APP" })).loginWithPassword;
    const firstId = (await h.identityFromToken(first.accessToken))!;
    const webStill = m.identity; // a WEB session is not touched by an APP login

    const sub = createRedis(h.config.REDIS_URL);
    const received: any[] = [];
    await sub.subscribe(eventChannel(h.config.REDIS_PREFIX, "sessionEvents"));
    sub.on("message", (_c, msg) => received.push(JSON.parse(msg)));
    try {
      const second = (await h.ok(LOGIN_PW, { phone: m.phone, password: "kick-me-123", device: "APP" })).loginWithPassword;
      const secondId = (await h.identityFromToken(second.accessToken))!;
      expect(secondId.sessionId).not.toBe(firstId.sessionId);
      expect(await readSession(h.sg.services.redis, h.config.REDIS_PREFIX, firstId.sessionId!)).toBeNull();
      expect(await h.identityFromToken(first.accessToken)).toBeNull();
      expect(code(await h.gql(REFRESH, { t: first.refreshToken }))).toBe("INVALID_REFRESH_TOKEN");
      expect(await h.identityFromToken(m.accessToken)).toMatchObject({ sessionId: webStill.sessionId });

      const ev = await waitFor(async () => received.find((e) => e.sessions?.[0] === firstId.sessionId), "kick event");
      expect(ev).toMatchObject({ keys: {}, audience: [m.memberId], sessions: [firstId.sessionId] });
      const q = `query($id: ID!) { sessionEventsEvent(eventId: $id) { type device at reason } }`;
      // The gateway loads the payload with the subscriber's identity plus service "gateway".
      const got = await h.ok(q, { id: ev.eventId }, { ...firstId, service: "gateway" });
      expect(got.sessionEventsEvent).toMatchObject({ type: "KICKED_OUT", device: "APP" });
      expect(Date.parse(got.sessionEventsEvent.at)).toBeGreaterThan(0);
      // Another member does not see it; without the gateway marker the field is refused.
      const other = await registerMember(h);
      expect((await h.ok(q, { id: ev.eventId }, { ...other.identity, service: "gateway" })).sessionEventsEvent).toBeNull();
      expect(code(await h.gql(q, { id: ev.eventId }, firstId))).toBe("FORBIDDEN");
    } finally {
      sub.disconnect();
    }
  });

  it("parallel logins on one device type leave exactly one live session", async () => {
    const m = await registerMember(h, { password: "parallel-123", device: "APP" });
    // Over HTTP: 4 at once (the login lock admits 5 tries in flight per account).
    const rs = await Promise.all(
      Array.from({ length: 4 }, () => h.ok(LOGIN_PW, { phone: m.phone, password: "parallel-123", device: "MINI_PROGRAM" })),
    );
    expect((await Promise.all(rs.map((r) => h.identityFromToken(r.loginWithPassword.accessToken)))).filter(Boolean)).toHaveLength(1);
    // The session slot itself under 50 parallel logins.
    const issued = await Promise.all(
      Array.from({ length: 50 }, () => h.sg.services.sessions.create({ realm: "member", subject: m.memberId, device: "WEB" })),
    );
    const live = await Promise.all(issued.map((t) => readSession(h.sg.services.redis, h.config.REDIS_PREFIX, t.sessionId)));
    expect(live.filter(Boolean)).toHaveLength(1);
    // The APP session of the registration is untouched.
    expect(await h.identityFromToken(m.accessToken)).not.toBeNull();
  });

  it("logout revokes the session and its refresh tokens at once", async () => {
    const m = await registerMember(h);
    const sub = createRedis(h.config.REDIS_URL);
    const received: any[] = [];
    await sub.subscribe(eventChannel(h.config.REDIS_PREFIX, "sessionEvents"));
    sub.on("message", (_c, msg) => received.push(JSON.parse(msg)));
    try {
      expect((await h.ok(`mutation { logout }`, {}, m.identity)).logout).toBe(true);
      expect(await h.identityFromToken(m.accessToken)).toBeNull();
      expect(code(await h.gql(REFRESH, { t: m.refreshToken }))).toBe("INVALID_REFRESH_TOKEN");
      const ev = await waitFor(async () => received.find((e) => e.sessions?.[0] === m.identity.sessionId), "logout event");
      const got = await h.ok(
        `query($id: ID!) { sessionEventsEvent(eventId: $id) { type device } }`,
        { id: ev.eventId },
        { ...m.identity, service: "gateway" },
      );
      expect(got.sessionEventsEvent).toEqual({ type: "LOGGED_OUT", device: "WEB" });
    } finally {
      sub.disconnect();
    }
    expect(code(await h.gql(`mutation { logout }`))).toBe("UNAUTHENTICATED");
  });

  it("me needs a member; another member's private fields are refused", async () => {
    expect(code(await h.gql(`{ me { id } }`))).toBe("UNAUTHENTICATED");
    const a = await registerMember(h);
    const b = await registerMember(h);
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { id nickname } } }`;
    const ents = await h.ok(q, {
      r: [
        { __typename: "Member", id: a.memberId },
        { __typename: "Member", id: "nope" },
        { __typename: "Member", id: b.memberId },
      ],
    });
    expect(ents._entities).toEqual([{ id: a.memberId, nickname: null }, null, { id: b.memberId, nickname: null }]);
    const priv = await h.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { id phone } } }`,
      { r: [{ __typename: "Member", id: a.memberId }] },
      b.identity,
    );
    expect(code(priv)).toBe("FORBIDDEN");
  });

  it("updateProfile changes nickname/avatar/username, validates them", async () => {
    const m = await registerMember(h);
    const up = `mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id nickname avatar username } }`;
    const r = await h.ok(up, { i: { nickname: "Xiao Ming", avatar: "https://img.example/a.png", username: "xiaoming" } }, m.identity);
    expect(r.updateProfile).toEqual({ id: m.memberId, nickname: "Xiao Ming", avatar: "https://img.example/a.png", username: "xiaoming" });
    expect(code(await h.gql(up, { i: { avatar: "javascript:alert(1)" } }, m.identity))).toBe("BAD_USER_INPUT");
    const other = await registerMember(h);
    expect(code(await h.gql(up, { i: { username: "xiaoming" } }, other.identity))).toBe("ALREADY_EXISTS");
  });
});
