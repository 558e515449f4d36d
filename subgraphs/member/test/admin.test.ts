import { readSession } from "@mallgraph/platform/auth";
import { eventChannel } from "@mallgraph/platform/events";
import { createRedis } from "@mallgraph/platform/redis";
import { Kind, parse, type ObjectTypeDefinitionNode } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeDefs } from "../src/index.ts";
import { PERMISSION_NAMES } from "../src/permissions.ts";
import { seed } from "../src/seed.ts";
import { adminIdentity, createHarness, INTERNAL, newPhone, registerMember, REQUEST_CODE, waitFor, type Harness } from "./helpers.ts";

const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;
const ADMIN_LOGIN = `mutation($u: String!, $p: String!) { adminLogin(username: $u, password: $p) { accessToken refreshToken expiresIn operator { id username permissions roles { name } } } }`;
const SENT = `query($r: String!, $f: Int) { sentMessages(recipient: $r, first: $f) { id channel recipient template body status createdAt } }`;

describe("operators, RBAC, admin fields", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("the seed is idempotent: currencies, every permission, superadmin, admin", async () => {
    const summary = await seed(h.config);
    expect(summary).toMatch(/3 currencies/);
    await seed(h.config);
    const p = h.sg.services.prisma;
    expect(await p.currency.findMany({ orderBy: { code: "asc" }, select: { code: true, decimals: true } })).toEqual([
      { code: "CNY", decimals: 2 },
      { code: "JPY", decimals: 0 },
      { code: "USD", decimals: 2 },
    ]);
    expect(await p.permission.count()).toBe(PERMISSION_NAMES.length);
    expect(await p.role.count()).toBe(1);
    expect(await p.rolePermission.count()).toBe(PERMISSION_NAMES.length);
    expect(await p.operator.count()).toBe(1);
  });

  it("adminLogin puts the operator's permissions in an admin-realm session", async () => {
    const r = (await h.ok(ADMIN_LOGIN, { u: "admin", p: h.config.ADMIN_PASSWORD })).adminLogin;
    expect(r.operator.username).toBe("admin");
    expect(r.operator.roles).toEqual([{ name: "superadmin" }]);
    expect([...r.operator.permissions].sort()).toEqual([...PERMISSION_NAMES].sort());
    const id = (await h.identityFromToken(r.accessToken))!;
    expect(id).toMatchObject({ kind: "admin", id: r.operator.id });
    const s = await readSession(h.sg.services.redis, h.config.REDIS_PREFIX, id.sessionId!);
    expect(s?.realm).toBe("admin");
    expect(s?.permissions.sort()).toEqual([...PERMISSION_NAMES].sort());
    expect(code(await h.gql(ADMIN_LOGIN, { u: "admin", p: "wrong-password" }))).toBe("INVALID_CREDENTIALS");
    expect(code(await h.gql(ADMIN_LOGIN, { u: "nobody", p: "wrong-password" }))).toBe("INVALID_CREDENTIALS");
    // Operators can refresh and log out like members.
    const t = (await h.ok(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }`, { t: r.refreshToken }))
      .refreshSession;
    const id2 = (await h.identityFromToken(t.accessToken))!;
    expect(id2.permissions?.length).toBe(PERMISSION_NAMES.length);
    const sub = createRedis(h.config.REDIS_URL);
    const received: any[] = [];
    await sub.subscribe(eventChannel(h.config.REDIS_PREFIX, "sessionEvents"));
    sub.on("message", (_c, msg) => received.push(JSON.parse(msg)));
    try {
      expect((await h.ok(`mutation { logout }`, {}, id2)).logout).toBe(true);
      expect(await h.identityFromToken(t.accessToken)).toBeNull();
      // Published for operators too, so the gateway evicts the session from its cache at once.
      const ev = await waitFor(async () => received.find((e) => e.sessions?.[0] === id2.sessionId), "operator logout event");
      expect(ev.audience).toEqual([id2.id]);
      const got = await h.ok(
        `query($id: ID!) { sessionEventsEvent(eventId: $id) { type } }`,
        { id: ev.eventId },
        { ...id2, service: "gateway" },
      );
      expect(got.sessionEventsEvent).toEqual({ type: "LOGGED_OUT" });
    } finally {
      sub.disconnect();
    }
  });

  it("operators may hold several sessions at once (no device kick-out in the admin realm)", async () => {
    const a = (await h.ok(ADMIN_LOGIN, { u: "admin", p: h.config.ADMIN_PASSWORD })).adminLogin;
    const b = (await h.ok(ADMIN_LOGIN, { u: "admin", p: h.config.ADMIN_PASSWORD })).adminLogin;
    expect(await h.identityFromToken(a.accessToken)).not.toBeNull();
    expect(await h.identityFromToken(b.accessToken)).not.toBeNull();
  });

  it("a member's token is no operator: member tokens never carry the admin realm", async () => {
    const m = await registerMember(h);
    expect(code(await h.gql(SENT, { r: m.phone }, m.identity))).toBe("UNAUTHENTICATED");
    expect(code(await h.gql(SENT, { r: m.phone }))).toBe("UNAUTHENTICATED");
    expect(code(await h.gql(ADMIN_LOGIN, { u: "x", p: "y" }))).toBe("INVALID_CREDENTIALS");
  });

  it("roles and operators: FORBIDDEN without the permission, works with it", async () => {
    const root = await adminIdentity(h);
    const role = (
      await h.ok(
        `mutation { adminCreateRole(name: "support", permissions: ["message:read", "member:read"], description: "help desk") { id name permissions } }`,
        {},
        root,
      )
    ).adminCreateRole;
    expect(role.permissions).toEqual(["member:read", "message:read"]);
    expect(code(await h.gql(`mutation { adminCreateRole(name: "x", permissions: ["root:everything"]) { id } }`, {}, root))).toBe(
      "BAD_USER_INPUT",
    );
    expect(code(await h.gql(`mutation { adminCreateRole(name: "support", permissions: []) { id } }`, {}, root))).toBe("ALREADY_EXISTS");
    const op = (
      await h.ok(
        `mutation { adminCreateOperator(username: "helper", password: "helper-pass") { id roles { name } permissions } }`,
        {},
        root,
      )
    ).adminCreateOperator;
    expect(op).toMatchObject({ roles: [], permissions: [] });
    expect(code(await h.gql(`mutation { adminCreateOperator(username: "helper", password: "helper-pass") { id } }`, {}, root))).toBe(
      "ALREADY_EXISTS",
    );

    // Without a role the operator has no permission at all.
    const bare = await adminIdentity(h, "helper", "helper-pass");
    expect(code(await h.gql(SENT, { r: "13800000000" }, bare))).toBe("FORBIDDEN");
    expect(code(await h.gql(`{ adminMembers { items { id } } }`, {}, bare))).toBe("FORBIDDEN");

    const assigned = (
      await h.ok(
        `mutation($o: ID!, $r: ID!) { adminAssignRole(operatorId: $o, roleId: $r) { id roles { name } permissions } }`,
        { o: op.id, r: role.id },
        root,
      )
    ).adminAssignRole;
    expect(assigned.permissions).toEqual(["member:read", "message:read"]);
    expect(
      code(
        await h.gql(
          `mutation($o: ID!, $r: ID!) { adminAssignRole(operatorId: $o, roleId: $r) { id } }`,
          { o: op.id, r: "no-such-role" },
          root,
        ),
      ),
    ).toBe("NOT_FOUND");
    // Permissions are read at login: log in again to get them.
    const support = await adminIdentity(h, "helper", "helper-pass");
    expect(support.permissions?.sort()).toEqual(["member:read", "message:read"]);
    expect((await h.ok(SENT, { r: "13800000000" }, support)).sentMessages).toEqual([]);
    // ...but still no admin:write or currency:write.
    expect(code(await h.gql(`mutation { adminCreateRole(name: "y", permissions: []) { id } }`, {}, support))).toBe("FORBIDDEN");
    expect(code(await h.gql(`mutation { adminAddCurrency(code: "GBP", name: "Pound", decimals: 2) { code } }`, {}, support))).toBe(
      "FORBIDDEN",
    );
    expect(code(await h.gql(`mutation { adminCreateOperator(username: "evil", password: "evil-pass") { id } }`, {}, support))).toBe(
      "FORBIDDEN",
    );
  });

  it("sentMessages (message:read) lists what went to a recipient, newest first — how tests read SMS codes", async () => {
    const admin = await adminIdentity(h);
    const phone = newPhone();
    await h.ok(REQUEST_CODE, { phone });
    const c1 = await h.smsCode(phone);
    await h.sg.services.redis.del(h.sg.services.keys.smsGuard(phone));
    await h.ok(REQUEST_CODE, { phone });
    const c2 = await h.smsCode(phone, 2);
    const list = (await h.ok(SENT, { r: phone, f: 10 }, admin)).sentMessages;
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      channel: "SMS",
      recipient: phone,
      template: "sms-code",
      status: "SENT",
      body: `【mallgraph】Your verification code is ${c2}. It expires in 5 minutes.`,
    });
    expect(list[1].body).toContain(c1);
    expect((await h.ok(SENT, { r: phone, f: 1 }, admin)).sentMessages).toHaveLength(1);
  });

  it("adminMembers pages through members (member:read); private member fields open to it", async () => {
    const admin = await adminIdentity(h);
    for (let i = 0; i < 3; i++) await registerMember(h);
    const total = await h.sg.services.prisma.member.count();
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (
        await h.ok(
          `query($a: String) { adminMembers(first: 2, after: $a) { items { id phone wallets { currency } } endCursor hasNextPage } }`,
          { a: after },
          admin,
        )
      ).adminMembers;
      seen.push(...page.items.map((m: { id: string }) => m.id));
      expect(page.items.every((m: any) => m.phone && m.wallets.length === 3)).toBe(true);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it("services hold no operator permission: an internal caller cannot use an admin field, nor an anonymous one", async () => {
    const r = await h.gql(`{ adminPermissions { name } }`, {}, INTERNAL);
    expect(code(r)).toBe("FORBIDDEN");
    expect(r.data?.adminPermissions ?? null).toBeNull();
    expect(code(await h.gql(`mutation { adminCreateRole(name: "svc-made", permissions: ["member:read"]) { id } }`, {}, INTERNAL))).toBe(
      "FORBIDDEN",
    );
    expect(code(await h.gql(`{ adminPermissions { name } }`))).toBe("UNAUTHENTICATED");
  });

  it("every admin field checks its permission: members, anonymous callers and operators without it are refused", async () => {
    // The operator fields of the schema (a new one must be listed here with its permission).
    const GUARDED: Record<string, { permission: string; op: string }> = {
      sentMessages: { permission: "message:read", op: `{ sentMessages(recipient: "13800000000") { id } }` },
      adminMembers: { permission: "member:read", op: `{ adminMembers { hasNextPage } }` },
      adminRoles: { permission: "admin:write", op: `{ adminRoles { id } }` },
      adminAuditEntries: { permission: "audit:read", op: `{ adminAuditEntries { items { id } } }` },
      adminPermissions: { permission: "admin:write", op: `{ adminPermissions { name } }` },
      adminCreateRole: {
        permission: "admin:write",
        op: `mutation { adminCreateRole(name: "sneaky", permissions: ["admin:write"]) { id } }`,
      },
      adminAssignRole: { permission: "admin:write", op: `mutation { adminAssignRole(operatorId: "x", roleId: "y") { id } }` },
      adminCreateOperator: {
        permission: "admin:write",
        op: `mutation { adminCreateOperator(username: "sneaky", password: "sneaky-pass") { id } }`,
      },
      adminAddCurrency: {
        permission: "currency:write",
        op: `mutation { adminAddCurrency(code: "XAU", name: "Gold", decimals: 2) { code } }`,
      },
      adminSystemAccounts: { permission: "member:read", op: `{ adminSystemAccounts { name } }` },
      adminSystemLedger: { permission: "member:read", op: `{ adminSystemLedger(account: "MARKETING", currency: "CNY") { items { id } } }` },
      adminWalletLedger: { permission: "member:read", op: `{ adminWalletLedger(memberId: "x", currency: "CNY") { items { id } } }` },
      adminAdjustWallet: {
        permission: "wallet:write",
        op: `mutation { adminAdjustWallet(memberId: "x", currency: "CNY", amount: "1", reason: "r", idempotencyKey: "k") { code } }`,
      },
      adminFundMarketingAccount: {
        permission: "wallet:write",
        op: `mutation { adminFundMarketingAccount(currency: "CNY", amount: "1", reason: "r", idempotencyKey: "k") { code } }`,
      },
      adminCreatePartnerKey: { permission: "partner:write", op: `mutation { adminCreatePartnerKey(name: "sneaky") { key } }` },
      adminRevokePartnerKey: { permission: "partner:write", op: `mutation { adminRevokePartnerKey(id: "x") { id } }` },
    };
    const doc = parse(typeDefs);
    const fields = doc.definitions
      .filter(
        (d): d is ObjectTypeDefinitionNode =>
          d.kind === Kind.OBJECT_TYPE_DEFINITION && (d.name.value === "Query" || d.name.value === "Mutation"),
      )
      .flatMap((d) => (d.fields ?? []).map((f) => f.name.value))
      .filter((f) => f.startsWith("admin") || f === "sentMessages");
    // adminLogin is how an operator gets in; adminMe answers null to anyone but the operator.
    expect(fields.filter((f) => f !== "adminLogin" && f !== "adminMe").sort()).toEqual(Object.keys(GUARDED).sort());

    const root = await adminIdentity(h);
    await h.ok(`mutation { adminCreateOperator(username: "no_perms", password: "no-perms-pass") { id } }`, {}, root);
    const bare = await adminIdentity(h, "no_perms", "no-perms-pass");
    const m = await registerMember(h);
    const before = await Promise.all([
      h.sg.services.prisma.role.count(),
      h.sg.services.prisma.operator.count(),
      h.sg.services.prisma.currency.count(),
    ]);
    for (const [field, { permission, op }] of Object.entries(GUARDED)) {
      expect([field, code(await h.gql(op))]).toEqual([field, "UNAUTHENTICATED"]);
      expect([field, code(await h.gql(op, {}, m.identity))]).toEqual([field, "UNAUTHENTICATED"]);
      expect([field, code(await h.gql(op, {}, bare))]).toEqual([field, "FORBIDDEN"]);
      // Holding every other permission is not enough either.
      const allButOne = { ...root, permissions: PERMISSION_NAMES.filter((p) => p !== permission) };
      expect([field, code(await h.gql(op, {}, allButOne))]).toEqual([field, "FORBIDDEN"]);
    }
    expect(
      await Promise.all([h.sg.services.prisma.role.count(), h.sg.services.prisma.operator.count(), h.sg.services.prisma.currency.count()]),
    ).toEqual(before);
    expect((await h.ok(`{ adminMe { id } }`, {}, m.identity)).adminMe).toBeNull();
    expect((await h.ok(`{ adminMe { username permissions } }`, {}, bare)).adminMe).toEqual({ username: "no_perms", permissions: [] });
  });

  it("operator brute force: locked after 5 failures even with the right password", async () => {
    const root = await adminIdentity(h);
    await h.ok(`mutation { adminCreateOperator(username: "victim", password: "victim-pass") { id } }`, {}, root);
    for (let i = 0; i < 5; i++) expect(code(await h.gql(ADMIN_LOGIN, { u: "victim", p: `nope-${i}` }))).toBe("INVALID_CREDENTIALS");
    expect(code(await h.gql(ADMIN_LOGIN, { u: "victim", p: "victim-pass" }))).toBe("ACCOUNT_LOCKED");
  });
});
