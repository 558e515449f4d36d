/**
 * Member self-service on the account: changePassword (other sessions end) and resetPassword by SMS
 * code (every session ends), both counted by the login lock.
 */
import { scanKeys } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, registerMember, REQUEST_CODE, topUp, withdraw, type Harness } from "./helpers.ts";

const LOGIN_PW = `mutation($phone: String!, $password: String!, $device: DeviceType) { loginWithPassword(phone: $phone, password: $password, device: $device) { accessToken refreshToken member { id } } }`;
const CHANGE = `mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) { code } }`;
const RESET = `mutation($p: String!, $c: String!, $n: String!) { resetPassword(phone: $p, smsCode: $c, newPassword: $n) { code } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

/**
 * Order and lottery as closure and export see them: the open orders of each member, what each exports
 * (the real fields run end to end in test/e2e/account.test.ts).
 */
const openOrders = new Map<string, number>();
const exported = {
  orders: [{ orderNo: "NO-1", status: "COMPLETED", address: { receiver: "Wang" } }],
  lottery: { draws: [{ activity: "wheel", award: "coupon" }], redEnvelopes: [], points: null, pointsHistory: [] },
};

describe("member account self-service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      workers: true,
      orders: { openCount: async (id) => openOrders.get(id) ?? 0, exportOrders: async () => exported.orders },
      lottery: { exportLottery: async () => exported.lottery },
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const login = async (phone: string, password: string, device: string) => {
    const r = (await h.ok(LOGIN_PW, { phone, password, device })).loginWithPassword;
    return { ...r, identity: (await h.identityFromToken(r.accessToken))! };
  };

  it("changePassword: the old password proves it; the other sessions end, this one stays", async () => {
    const m = await registerMember(h, { password: "old-pass-1", device: "WEB" });
    const app = await login(m.phone, "old-pass-1", "APP");
    const mini = await login(m.phone, "old-pass-1", "MINI_PROGRAM");
    expect((await h.ok(CHANGE, { o: "old-pass-1", n: "new-pass-1" }, m.identity)).changePassword).toEqual({ code: "OK" });
    expect(await h.identityFromToken(m.accessToken)).toMatchObject({ id: m.memberId, sessionId: m.identity.sessionId });
    expect(await h.identityFromToken(app.accessToken)).toBeNull();
    expect(await h.identityFromToken(mini.accessToken)).toBeNull();
    expect(code(await h.gql(REFRESH, { t: app.refreshToken }))).toBe("INVALID_REFRESH_TOKEN");
    expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: "old-pass-1" }))).toBe("INVALID_CREDENTIALS");
    expect((await login(m.phone, "new-pass-1", "APP")).member.id).toBe(m.memberId);
    // bad input writes nothing; anonymous callers are refused
    expect(code(await h.gql(CHANGE, { o: "new-pass-1", n: "short" }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(CHANGE, { o: "new-pass-1", n: "another-1" }))).toBe("UNAUTHENTICATED");
    expect((await login(m.phone, "new-pass-1", "WEB")).member.id).toBe(m.memberId);
  });

  it("changePassword with a wrong old password is WRONG_PASSWORD and counts toward the day's lock", async () => {
    const m = await registerMember(h, { password: "right-pass-1" });
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => h.gql(CHANGE, { o: `wrong-${i}`, n: "new-pass-2" }, m.identity)));
    // exactly 5 are checked (the day's budget), the rest refused unchecked
    expect(rs.filter((r) => r.data?.changePassword?.code === "WRONG_PASSWORD")).toHaveLength(5);
    expect(rs.filter((r) => code(r) === "ACCOUNT_LOCKED" || code(r) === "RATE_LIMITED")).toHaveLength(15);
    expect(code(await h.gql(CHANGE, { o: "right-pass-1", n: "new-pass-2" }, m.identity))).toBe("ACCOUNT_LOCKED");
    expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: "right-pass-1" }))).toBe("ACCOUNT_LOCKED");
    // nothing changed
    await h.sg.services.redis.del(...(await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{login:member:${m.phone}}:*`)));
    expect((await login(m.phone, "right-pass-1", "APP")).member.id).toBe(m.memberId);
  });

  /** A fresh SMS code for a phone (the 60 s resend guard of the registration's code lifted). */
  const freshCode = async (phone: string, nth: number) => {
    await h.sg.services.redis.del(h.sg.services.keys.smsGuard(phone));
    expect((await h.ok(REQUEST_CODE, { phone })).requestSmsCode.ok).toBe(true);
    return h.smsCode(phone, nth);
  };

  it("resetPassword: the SMS code proves the phone, every session ends; the code works once", async () => {
    const m = await registerMember(h, { password: "forgot-1", device: "WEB" });
    const app = await login(m.phone, "forgot-1", "APP");
    const c = await freshCode(m.phone, 2);
    // 20 resets with the same code in parallel: one wins, the others find it used
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => h.gql(RESET, { p: m.phone, c, n: `reset-pass-${i}` })));
    const ok = rs.map((r, i) => [r.data?.resetPassword?.code, i] as const).filter(([k]) => k === "OK");
    expect(ok).toHaveLength(1);
    expect(
      rs.filter((r) => r.data?.resetPassword?.code === "INVALID_SMS_CODE" || code(r) === "ACCOUNT_LOCKED" || code(r) === "RATE_LIMITED"),
    ).toHaveLength(19);
    expect(await h.identityFromToken(m.accessToken)).toBeNull();
    expect(await h.identityFromToken(app.accessToken)).toBeNull();
    await h.sg.services.redis.del(...(await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{login:member:${m.phone}}:*`)));
    expect((await login(m.phone, `reset-pass-${ok[0]![1]}`, "WEB")).member.id).toBe(m.memberId);
    expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: "forgot-1" }))).toBe("INVALID_CREDENTIALS");
  });

  it("resetPassword: a wrong code, or a phone with no member, is INVALID_SMS_CODE and counts toward the lock", async () => {
    const m = await registerMember(h, { password: "keep-me-1" });
    const c = await freshCode(m.phone, 2);
    const wrong = c === "000000" ? "111111" : "000000";
    expect((await h.ok(RESET, { p: m.phone, c: wrong, n: "new-pass-3" })).resetPassword).toEqual({ code: "INVALID_SMS_CODE" });
    expect((await h.ok(RESET, { p: "13999999999", c: "123456", n: "new-pass-3" })).resetPassword).toEqual({ code: "INVALID_SMS_CODE" });
    expect(code(await h.gql(RESET, { p: "12", c: "123456", n: "new-pass-3" }))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(RESET, { p: m.phone, c, n: "x" }))).toBe("BAD_USER_INPUT");
    for (let i = 0; i < 4; i++) await h.gql(LOGIN_PW, { phone: m.phone, password: `wrong-${i}` });
    // the day's 5 failures are in (1 wrong code + 4 wrong passwords): the right code is refused too
    expect(code(await h.gql(RESET, { p: m.phone, c, n: "new-pass-3" }))).toBe("ACCOUNT_LOCKED");
    await h.sg.services.redis.del(...(await scanKeys(h.sg.services.redis, `${h.config.REDIS_PREFIX}:member:{login:member:${m.phone}}:*`)));
    expect((await login(m.phone, "keep-me-1", "WEB")).member.id).toBe(m.memberId);
  });

  const CLOSE = `mutation($p: String, $c: String) { closeAccount(password: $p, smsCode: $c) { code } }`;
  const EXPORT = `query { exportMyData }`;

  it("exportMyData answers the member's personal data as JSON, only to the member", async () => {
    const m = await registerMember(h, { password: "export-me-1" });
    await h.ok(
      `mutation { addAddress(input: { receiver: "Wang", phone: "13800000000", region: "Shanghai", detail: "1 Road", isDefault: true }) { id } }`,
      {},
      m.identity,
    );
    await h.ok(`mutation { updateProfile(input: { nickname: "wang" }) { id } }`, {}, m.identity);
    const data = JSON.parse((await h.ok(EXPORT, {}, m.identity)).exportMyData);
    expect(data.member).toMatchObject({ id: m.memberId, phone: m.phone, nickname: "wang", hasPassword: true });
    expect(data.member.passwordHash).toBeUndefined();
    expect(data.addresses).toMatchObject([
      { receiver: "Wang", phone: "13800000000", region: "Shanghai", detail: "1 Road", isDefault: true },
    ]);
    expect(data.wallets.map((w: any) => w.currency).sort()).toEqual(["CNY", "JPY", "USD"]);
    // the registration's SMS code was sent to the phone: listed, without the code
    expect(data.sentMessages).toEqual([{ channel: "SMS", template: "sms-code", body: null, createdAt: expect.any(String) }]);
    // what order and lottery hold of the member, as they export it
    expect(data.orders).toEqual(exported.orders);
    expect(data.lottery).toEqual(exported.lottery);
    expect(code(await h.gql(EXPORT, {}))).toBe("UNAUTHENTICATED");
  });

  it("closeAccount: refused while money or orders are open; then personal data is erased, ledgers stay, every session ends", async () => {
    const m = await registerMember(h, { password: "close-me-1", device: "WEB" });
    const app = await login(m.phone, "close-me-1", "APP");
    await h.ok(
      `mutation { addAddress(input: { receiver: "Li", phone: "13800000001", region: "Beijing", detail: "2 Road" }) { id } }`,
      {},
      m.identity,
    );
    expect(code(await h.gql(CLOSE, {}, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(CLOSE, { p: "close-me-1", c: "123456" }, m.identity))).toBe("BAD_USER_INPUT");
    // money open: a balance (a paid top-up, as payment credits it)
    expect((await topUp(h, m, { c: "CNY", a: "5.00", k: "close-1" })).topUpWallet.code).toBe("OK");
    expect((await h.ok(CLOSE, { p: "close-me-1" }, m.identity)).closeAccount).toEqual({ code: "MONEY_OPEN" });
    expect((await withdraw(h, m, { c: "CNY", a: "5.00", k: "close-2" })).withdrawFromWallet.code).toBe("OK");
    // orders open
    openOrders.set(m.memberId, 1);
    expect((await h.ok(CLOSE, { p: "close-me-1" }, m.identity)).closeAccount).toEqual({ code: "ORDERS_OPEN" });
    openOrders.delete(m.memberId);
    // the proof: a wrong password is refused (and counted by the login lock)
    expect((await h.ok(CLOSE, { p: "wrong-pass" }, m.identity)).closeAccount).toEqual({ code: "WRONG_PASSWORD" });
    // 10 closures in parallel: all answer OK or find the account gone; it is closed once
    const rs = await Promise.all(Array.from({ length: 10 }, () => h.gql(CLOSE, { p: "close-me-1" }, m.identity)));
    expect(rs.some((r) => r.data?.closeAccount?.code === "OK")).toBe(true);
    const row = await h.sg.services.prisma.member.findUniqueOrThrow({ where: { id: m.memberId } });
    expect(row).toMatchObject({ phone: `closed:${m.memberId}`, username: null, passwordHash: null, nickname: null, avatar: null });
    expect(row.closedAt).not.toBeNull();
    expect(await h.sg.services.prisma.address.count({ where: { memberId: m.memberId } })).toBe(0);
    // ledgers stay with the anonymized owner
    const ledger = await h.sg.services.prisma.ledgerEntry.findMany({ where: { account: { memberId: m.memberId } } });
    expect(ledger.map((e) => e.type).sort()).toEqual(["FREEZE", "TOPUP", "WITHDRAW"]);
    // the operators' message center no longer names the phone
    expect(await h.sg.services.prisma.message.count({ where: { recipient: m.phone } })).toBe(0);
    expect(await h.sg.services.prisma.message.count({ where: { recipient: `closed:${m.memberId}` } })).toBeGreaterThan(0);
    // every session ended; the phone no longer logs in, and may register anew
    expect(await h.identityFromToken(m.accessToken)).toBeNull();
    expect(await h.identityFromToken(app.accessToken)).toBeNull();
    expect(code(await h.gql(LOGIN_PW, { phone: m.phone, password: "close-me-1" }))).toBe("INVALID_CREDENTIALS");
    await h.sg.services.redis.del(h.sg.services.keys.smsGuard(m.phone));
    const again = await registerMember(h, { phone: m.phone, password: "new-life-1" });
    expect(again.memberId).not.toBe(m.memberId);
    // a message for the closed member is dropped
    expect((await h.sg.services.inbox.deliver(`msg.late-${m.memberId}`, m.memberId, "ORDER_PAID", {})).message).toBeNull();
  });

  it("closeAccount by SMS code", async () => {
    const m = await registerMember(h);
    const c = await freshCode(m.phone, 2);
    expect((await h.ok(CLOSE, { c: c === "000000" ? "111111" : "000000" }, m.identity)).closeAccount).toEqual({ code: "INVALID_SMS_CODE" });
    expect((await h.ok(CLOSE, { c }, m.identity)).closeAccount).toEqual({ code: "OK" });
    expect(await h.identityFromToken(m.accessToken)).toBeNull();
    expect((await h.sg.services.prisma.member.findUniqueOrThrow({ where: { id: m.memberId } })).closedAt).not.toBeNull();
  });
});
