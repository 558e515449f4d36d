/**
 * The operator audit trail (decision 0024) against real PostgreSQL: member's own operator mutations
 * write their entries in the same transaction as the change, with the rows before and after;
 * `adminAuditEntries` needs audit:read; the table refuses UPDATE, DELETE and TRUNCATE; entries
 * relayed from other domains (QueueName.auditEntries) are appended once.
 */
import { audited, auditedPrisma, tableAuditSink, type AuditEntry } from "@mallgraph/platform/audit";
import type { Identity } from "@mallgraph/platform/auth";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { adminIdentity, createHarness, registerMember, waitFor, type Harness } from "./helpers.ts";

const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;
const ENTRIES = `query($f: AuditFilter, $n: Int, $a: String) { adminAuditEntries(filter: $f, first: $n, after: $a) {
  items { id at service requestId actorKind actorId operation arguments targetType targetId outcome changes { entity entityId op before after } }
  pageInfo { hasNextPage endCursor } } }`;
const ADJUST = `mutation($m: ID!, $c: String!, $a: String!, $r: String!, $k: String!) { adminAdjustWallet(memberId: $m, currency: $c, amount: $a, reason: $r, idempotencyKey: $k) { code wallet { balance frozen } } }`;
const CREATE_ROLE = `mutation($n: String!, $p: [String!]!) { adminCreateRole(name: $n, permissions: $p) { id name permissions } }`;
const CREATE_OPERATOR = `mutation($u: String!, $p: String!, $r: [ID!]) { adminCreateOperator(username: $u, password: $p, roleIds: $r) { id } }`;
const CREATE_KEY = `mutation { adminCreatePartnerKey(name: "audit-partner") { id key } }`;

describe("the operator audit trail", () => {
  let h: Harness;
  let admin: Identity;
  const entries = async (filter: Record<string, unknown>, first = 20, after?: string) =>
    (await h.ok(ENTRIES, { f: filter, n: first, a: after ?? null }, admin)).adminAuditEntries;

  beforeAll(async () => {
    h = await createHarness({ workers: true });
    admin = await adminIdentity(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a role and an operator: who, what, the rows created (nested permissions included), secrets redacted", async () => {
    const role = (await h.ok(CREATE_ROLE, { n: "auditors", p: ["audit:read", "member:read"] }, admin)).adminCreateRole;
    const [e] = (await entries({ operation: "adminCreateRole" })).items;
    expect(e).toMatchObject({
      service: "member",
      actorKind: "admin",
      actorId: admin.id,
      operation: "adminCreateRole",
      targetType: "Role",
      targetId: role.id,
      outcome: null,
    });
    expect(e.requestId).toBeTruthy();
    expect(JSON.parse(e.arguments)).toEqual({ name: "auditors", permissions: ["audit:read", "member:read"] });
    expect(e.changes).toHaveLength(1);
    expect(e.changes[0]).toMatchObject({ entity: "Role", entityId: role.id, op: "create", before: null });
    const after = JSON.parse(e.changes[0].after);
    expect(after.name).toBe("auditors");
    expect(after.permissions.map((p: { permission: string }) => p.permission).sort()).toEqual(["audit:read", "member:read"]);

    const op = (await h.ok(CREATE_OPERATOR, { u: "auditor1", p: "auditor-pass-1", r: [role.id] }, admin)).adminCreateOperator;
    const [o] = (await entries({ targetId: op.id })).items;
    expect(o.operation).toBe("adminCreateOperator");
    expect(JSON.parse(o.arguments).password).toBe("[redacted]");
    expect(JSON.parse(o.changes[0].after).passwordHash).toBe("[redacted]");
    expect(JSON.stringify(o)).not.toContain("auditor-pass-1");

    const key = (await h.ok(CREATE_KEY, {}, admin)).adminCreatePartnerKey;
    const [k] = (await entries({ targetId: key.id })).items;
    expect(k.changes[0]).toMatchObject({ entity: "PartnerKey", op: "create" });
    expect(JSON.stringify(k)).not.toContain(key.key);
  });

  it("a wallet adjustment: both accounts before and after; a refused one changed nothing and has no entry", async () => {
    const m = await registerMember(h);
    await waitFor(
      async () => (await h.sg.services.prisma.walletAccount.count({ where: { memberId: m.memberId } })) > 0,
      "the member's wallet accounts",
    );
    expect(
      (await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "5.00", r: "compensation", k: "audit-1" }, admin)).adminAdjustWallet.wallet.balance,
    ).toBe("5.00");
    expect(
      (await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "-1.50", r: "clawback", k: "audit-2" }, admin)).adminAdjustWallet.wallet.balance,
    ).toBe("3.50");
    expect((await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "-9.00", r: "too much", k: "audit-3" }, admin)).adminAdjustWallet.code).toBe(
      "INSUFFICIENT_BALANCE",
    );
    const account = await h.sg.services.prisma.walletAccount.findFirstOrThrow({ where: { memberId: m.memberId, currency: "USD" } });

    const page = await entries({ operation: "adminAdjustWallet", targetId: account.id });
    expect(page.items).toHaveLength(2); // newest first; the refusal changed no account
    const [second, first] = page.items;
    const mine = (e: any) => e.changes.find((c: any) => c.entityId === account.id);
    expect(JSON.parse(mine(first).before)).toMatchObject({ balance: "0.00" });
    expect(JSON.parse(mine(first).after)).toMatchObject({ balance: "5.00", reference: "adjust:audit-1" });
    expect(JSON.parse(mine(second).before)).toMatchObject({ balance: "5.00" });
    expect(JSON.parse(mine(second).after)).toMatchObject({ balance: "3.50" });
    expect(first.changes).toHaveLength(2); // the member's account and ADJUSTMENT's

    // the refusal (INSUFFICIENT_BALANCE) changed nothing: no entry, as for bad input
    const all = (await entries({ operation: "adminAdjustWallet" }, 100)).items;
    expect(all.filter((e: any) => JSON.parse(e.arguments).idempotencyKey === "audit-3")).toEqual([]);
  });

  it("a change that rolls back leaves no entry; a committed one has exactly one, in its transaction", async () => {
    const db = h.sg.services.prisma;
    const ctx = { identity: admin, requestId: "rollback-test" };
    await expect(
      audited(h.sg.services.audit, ctx, "testRollback", {}, () =>
        db.$transaction(async (tx) => {
          await tx.currency.create({ data: { code: "RBK", name: "Rollback", decimals: 2 } });
          throw new Error("boom");
        }),
      ),
    ).rejects.toThrow("boom");
    expect(await db.currency.findUnique({ where: { code: "RBK" } })).toBeNull();
    expect((await entries({ operation: "testRollback" })).items).toEqual([]);

    // The entry is written inside the transaction: it fails to commit with it (and is never seen before).
    await expect(
      audited(h.sg.services.audit, ctx, "testLateFailure", {}, () =>
        db
          .$transaction(async (tx) => {
            await tx.currency.create({ data: { code: "RBL", name: "Late", decimals: 2 } });
            return { code: "OK" };
          })
          .then(() => {
            throw new Error("after commit");
          }),
      ),
    ).rejects.toThrow("after commit");
    const late = (await entries({ operation: "testLateFailure" })).items;
    expect(late).toHaveLength(1);
    expect(late[0].changes[0]).toMatchObject({ entity: "Currency", op: "create" });
  });

  it("adminAuditEntries needs audit:read: FORBIDDEN without it, UNAUTHENTICATED for members; paging, actor and time filters", async () => {
    const role = (await h.ok(CREATE_ROLE, { n: "support", p: ["member:read"] }, admin)).adminCreateRole;
    await h.ok(CREATE_OPERATOR, { u: "support1", p: "support-pass-1", r: [role.id] }, admin);
    const support = await adminIdentity(h, "support1", "support-pass-1");
    expect(code(await h.gql(ENTRIES, {}, support))).toBe("FORBIDDEN");
    const m = await registerMember(h);
    expect(code(await h.gql(ENTRIES, {}, m.identity))).toBe("UNAUTHENTICATED");
    expect(code(await h.gql(ENTRIES, {}))).toBe("UNAUTHENTICATED");

    const all = await entries({ actorId: admin.id }, 100);
    expect(all.items.length).toBeGreaterThanOrEqual(8);
    const times = all.items.map((e: any) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
    // pages of 3 walk the same entries in the same order
    const walked: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await entries({ actorId: admin.id }, 3, after);
      walked.push(...p.items.map((e: any) => e.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(walked).toEqual(all.items.map((e: any) => e.id));
    expect((await entries({ actorId: support.id })).items).toEqual([]);
    const mid = all.items[Math.floor(all.items.length / 2)].at;
    const newer = await entries({ actorId: admin.id, from: mid }, 100);
    const older = await entries({ actorId: admin.id, to: mid }, 100);
    expect(newer.items.length + older.items.length).toBe(all.items.length);
    expect(newer.items.every((e: any) => e.at >= mid) && older.items.every((e: any) => e.at < mid)).toBe(true);
    expect(code(await h.gql(ENTRIES, { f: { from: "yesterday" } }, admin))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ENTRIES, { a: "not-a-cursor" }, admin))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ENTRIES, { n: 101 }, admin))).toBe("BAD_USER_INPUT");
  });

  it("the table is append-only: UPDATE, DELETE and TRUNCATE are refused, even for the owner", async () => {
    const db = h.sg.services.prisma;
    const before = await db.auditEntry.count();
    expect(before).toBeGreaterThan(0);
    await expect(db.$executeRawUnsafe(`UPDATE "AuditEntry" SET "actorId" = 'someone-else'`)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(db.$executeRawUnsafe(`DELETE FROM "AuditEntry"`)).rejects.toThrow(/append-only: DELETE refused/);
    await expect(db.$executeRawUnsafe(`TRUNCATE "AuditEntry"`)).rejects.toThrow(/append-only: TRUNCATE refused/);
    await expect(db.auditEntry.updateMany({ data: { outcome: "X" } })).rejects.toThrow(/append-only/);
    expect(await db.auditEntry.count()).toBe(before);
    expect(await db.auditEntry.count({ where: { actorId: "someone-else" } })).toBe(0);
    // and no field of the API writes it
    const mutations = (await h.ok(`{ __type(name: "Mutation") { fields { name } } }`)).__type.fields.map((f: { name: string }) => f.name);
    expect(mutations.filter((n: string) => /audit/i.test(n))).toEqual([]);
  });

  it("entries relayed from other domains are appended once, whatever the relay repeats", async () => {
    const e: AuditEntry = {
      id: "audit.relayed-1",
      at: new Date().toISOString(),
      service: "order",
      requestId: "req-relayed",
      actorKind: "admin",
      actorId: admin.id!,
      operation: "adminShipOrder",
      args: { orderId: "o-1" },
      targetType: "Order",
      targetId: "o-1",
      outcome: null,
      changes: [{ entity: "Order", id: "o-1", op: "update", before: { status: "PAID" }, after: { status: "SHIPPED" } }],
    };
    const q = createQueue<AuditEntry>({ redisUrl: h.config.REDIS_URL, redisPrefix: h.config.REDIS_PREFIX }, QueueName.auditEntries);
    try {
      await q.add("append", e, { jobId: e.id });
      await q.add("append", { ...e, operation: "changed" }, { jobId: "audit.relayed-1-again" }); // a different job, same entry id
      await waitFor(async () => (await q.getCompletedCount()) >= 2, "both audit jobs done");
    } finally {
      await q.close();
    }
    const got = (await entries({ targetId: "o-1" })).items;
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ service: "order", operation: "adminShipOrder", requestId: "req-relayed" });
    expect(JSON.parse(got[0].changes[0].after)).toEqual({ status: "SHIPPED" });
  });

  it("outside an audit scope the audited client only passes calls through", async () => {
    const { prisma } = auditedPrisma(new PrismaClient({ adapter: runtimeAdapter(h.db.url, 2) }), "member", tableAuditSink);
    try {
      const n = await prisma.auditEntry.count();
      await prisma.currency.create({ data: { code: "PST", name: "Pass-through", decimals: 2 } });
      await prisma.$transaction(async (tx) => tx.currency.update({ where: { code: "PST" }, data: { name: "Still" } }));
      expect(await prisma.auditEntry.count()).toBe(n);
    } finally {
      await prisma.$disconnect();
    }
  });
});
