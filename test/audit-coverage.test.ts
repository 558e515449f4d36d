/**
 * Audit coverage (decision 0024): walks every subgraph's schema and resolvers, finds every Mutation
 * field guarded by an operator permission, and checks each one writes an audit entry: it refuses a
 * caller without the permission (nothing written), and with it runs inside an audit scope and leaves
 * exactly one entry naming the operation, the operator and the request. A Mutation field with no
 * guard must be listed in PUBLIC with the reason it needs none.
 *
 * The resolvers run against an inert stand-in for the domain services (every call answers a value
 * that answers anything), so the check is about the wrapper every operator mutation goes through;
 * the entries' contents against real PostgreSQL are in the domains' audit tests.
 */
import { readFileSync } from "node:fs";
import { parse, Kind, type ObjectTypeDefinitionNode, type ObjectTypeExtensionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { guardOf } from "@mallgraph/platform/access";
import { auditScope, type AuditEntry, type AuditLog } from "@mallgraph/platform/audit";
import type { Identity } from "@mallgraph/platform/auth";
import { resolvers as cart } from "../subgraphs/cart/src/resolvers/index.ts";
import { resolvers as catalog } from "../subgraphs/catalog/src/resolvers/index.ts";
import { resolvers as lottery } from "../subgraphs/lottery/src/resolvers/index.ts";
import { resolvers as member } from "../subgraphs/member/src/resolvers/index.ts";
import { resolvers as order } from "../subgraphs/order/src/resolvers/index.ts";
import { resolvers as payment } from "../subgraphs/payment/src/resolvers/index.ts";
import { resolvers as promotion } from "../subgraphs/promotion/src/resolvers/index.ts";

const SUBGRAPHS: Record<string, { Mutation?: Record<string, unknown> }> = { cart, catalog, lottery, member, order, payment, promotion };

/** Mutation fields that need no guard, and why (anything else unguarded fails this test). */
const PUBLIC: Record<string, string> = {
  "member.requestSmsCode": "anonymous: asks for a login code (rate-limited per phone)",
  "member.register": "anonymous: creates the caller's own account",
  "member.loginWithPassword": "anonymous: a login",
  "member.loginWithSmsCode": "anonymous: a login",
  "member.resetPassword": "anonymous: proven by an SMS code to the phone",
  "member.refreshSession": "proven by the refresh token itself",
  "member.logout": "the caller ends its own session (member or operator); no operator permission is used",
  "member.adminLogin": "anonymous: an operator's login (no permission yet)",
};

function mutationFields(subgraph: string): string[] {
  const doc = parse(readFileSync(new URL(`../subgraphs/${subgraph}/schema.graphql`, import.meta.url), "utf8"));
  return doc.definitions
    .filter(
      (d): d is ObjectTypeDefinitionNode | ObjectTypeExtensionNode =>
        (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION) && d.name.value === "Mutation",
    )
    .flatMap((d) => (d.fields ?? []).map((f) => f.name.value));
}

/** A value that answers anything: any property, any call (resolving to itself), any conversion. */
const anything: any = new Proxy(function () {}, {
  get: (_t, k) =>
    k === "then"
      ? undefined
      : k === Symbol.toPrimitive
        ? () => "2026-01-01T00:00:00.000Z"
        : k === Symbol.iterator
          ? [][Symbol.iterator].bind([])
          : anything,
  apply: () => Promise.resolve(anything),
});

/** Runs one Mutation resolver as the gateway would call it, with an inert domain behind it. */
async function run(fn: any, field: string, identity: Identity, sink: AuditEntry[]) {
  const seen: Array<string | undefined> = [];
  const audit: AuditLog = { service: "test", sink: async (_db, entries) => void sink.push(...entries), db: {} as never };
  const base = { identity, requestId: `req-${field}`, audit };
  const ctx = new Proxy(base, {
    get: (t, k) => {
      if (k in t) return (t as any)[k];
      seen.push(auditScope()?.operation);
      return anything;
    },
  });
  const args = new Proxy({}, { get: (_t, k) => (k === "then" || typeof k === "symbol" ? undefined : anything), has: () => true });
  try {
    await fn(undefined, args, ctx, { parentType: { name: "Mutation" }, fieldName: field });
    return { ok: true as const, seen };
  } catch (error) {
    return { ok: false as const, error: error as { extensions?: { code?: string }; message?: string }, seen };
  }
}

describe("every operator mutation writes the audit trail", () => {
  const operator: Array<{ subgraph: string; field: string; permission: string; fn: unknown }> = [];
  for (const [subgraph, r] of Object.entries(SUBGRAPHS))
    for (const field of mutationFields(subgraph)) {
      const guard = guardOf(r.Mutation?.[field]);
      if (guard?.kind === "operator") operator.push({ subgraph, field, permission: guard.permission, fn: r.Mutation![field] });
    }

  it("finds the operator mutations of every domain", () => {
    const by = (s: string) => operator.filter((o) => o.subgraph === s).map((o) => o.field);
    expect(by("member")).toEqual(
      expect.arrayContaining(["adminAdjustWallet", "adminCreateRole", "adminAssignRole", "adminCreatePartnerKey", "adminRevokePartnerKey"]),
    );
    expect(by("payment")).toContain("adminRefundPayment");
    expect(by("promotion")).toEqual(
      expect.arrayContaining(["adminCreateCouponTemplate", "adminCreateSeckillSession", "adminCancelSeckillSession"]),
    );
    expect(by("catalog")).toEqual(expect.arrayContaining(["adminUpdateSku", "adminInboundStock"]));
    expect(by("order")).toEqual(expect.arrayContaining(["adminShipOrder", "adminReviewAfterSale"]));
    expect(by("lottery")).toEqual(expect.arrayContaining(["adminCreateRedEnvelopeRain", "adminSaveLotteryStrategy"]));
    expect(operator.length).toBeGreaterThanOrEqual(50);
  });

  it("every Mutation field has a resolver and a guard, or is listed as public with a reason", () => {
    const problems: string[] = [];
    for (const [subgraph, r] of Object.entries(SUBGRAPHS))
      for (const field of mutationFields(subgraph)) {
        const fn = r.Mutation?.[field];
        if (typeof fn !== "function") problems.push(`${subgraph}.${field}: no resolver`);
        else if (!guardOf(fn) && !PUBLIC[`${subgraph}.${field}`])
          problems.push(`${subgraph}.${field}: no guard (asAdmin / asMember / asInternal) and not listed in PUBLIC`);
        else if (/^admin[A-Z]/.test(field) && guardOf(fn)?.kind !== "operator" && !PUBLIC[`${subgraph}.${field}`])
          problems.push(`${subgraph}.${field}: an admin field without asAdmin`);
      }
    for (const key of Object.keys(PUBLIC)) {
      const [subgraph, field] = key.split(".");
      if (!mutationFields(subgraph!).includes(field!)) problems.push(`${key}: listed in PUBLIC but no such Mutation field`);
      else if (guardOf(SUBGRAPHS[subgraph!]!.Mutation?.[field!])) problems.push(`${key}: listed in PUBLIC but guarded`);
    }
    expect(problems).toEqual([]);
  });

  it("each operator mutation: FORBIDDEN without its permission (nothing written); with it, one entry naming who, what and the request", async () => {
    const problems: string[] = [];
    const refusedInput: string[] = [];
    for (const o of operator) {
      const name = `${o.subgraph}.${o.field}`;
      const refused: AuditEntry[] = [];
      const r0 = await run(o.fn, o.field, { kind: "admin", id: "op-1", sessionId: "s-1", permissions: ["other:perm"] }, refused);
      if (r0.ok || r0.error.extensions?.code !== "FORBIDDEN" || refused.length || r0.seen.length)
        problems.push(`${name}: without ${o.permission} it was not refused before running (${r0.ok ? "ran" : r0.error.extensions?.code})`);
      const service: AuditEntry[] = [];
      const r1 = await run(o.fn, o.field, { kind: "internal", service: o.subgraph }, service);
      if (r1.ok || r1.error.extensions?.code !== "FORBIDDEN" || service.length) problems.push(`${name}: a service was not refused`);

      const written: AuditEntry[] = [];
      const r = await run(o.fn, o.field, { kind: "admin", id: "op-1", sessionId: "s-1", permissions: [o.permission] }, written);
      if (!r.seen.length || r.seen.some((op) => op !== o.field))
        problems.push(`${name}: the domain ran outside its audit scope (${JSON.stringify(r.seen)})`);
      if (r.ok) {
        if (written.length !== 1) problems.push(`${name}: ${written.length} entries`);
        else if (
          written[0]!.operation !== o.field ||
          written[0]!.actorId !== "op-1" ||
          written[0]!.actorKind !== "admin" ||
          written[0]!.requestId !== `req-${o.field}`
        )
          problems.push(`${name}: entry ${JSON.stringify(written[0])}`);
      } else if (written.length) problems.push(`${name}: failed (${r.error.message}) yet wrote ${written.length} entries`);
      // a few refuse the stand-in's values (validation inside the scope, nothing changed): fine, but nothing else
      else if (r.error.extensions?.code !== "BAD_USER_INPUT")
        problems.push(`${name}: failed with ${r.error.extensions?.code}: ${r.error.message}`);
      else refusedInput.push(name);
    }
    expect(refusedInput.length).toBeLessThan(operator.length / 10);
    expect(problems).toEqual([]);
  });

  it("an operator mutation without the subgraph's audit log fails closed", async () => {
    const o = operator.find((x) => x.field === "adminCreateRole")!;
    const fn = o.fn as (...a: unknown[]) => Promise<unknown>;
    const ctx = { identity: { kind: "admin", id: "op-1", permissions: [o.permission] }, requestId: "r", services: anything };
    await expect(fn(undefined, {}, ctx, { parentType: { name: "Mutation" }, fieldName: o.field })).rejects.toThrow(/without an audit log/);
  });
});
