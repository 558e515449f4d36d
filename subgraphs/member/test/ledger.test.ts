/**
 * The double-entry ledger: every movement has a counter-account, the sum over all accounts changes
 * only by top-ups and withdrawals, operators move money only through the system accounts.
 */
import type { Identity } from "@mallgraph/platform/auth";
import { Decimal } from "@mallgraph/platform/money";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, INTERNAL, topUp, adminIdentity, registerMember, withdraw, type Harness } from "./helpers.ts";

const LEDGER = `query($c: String!, $f: Int, $a: String) { myWalletLedger(currency: $c, first: $f, after: $a) { items { id kind amount change balanceAfter frozenAfter reference reason counterparty createdAt } pageInfo { hasNextPage endCursor } } }`;
const ADJUST = `mutation($m: ID!, $c: String!, $a: String!, $r: String!, $k: String!) { adminAdjustWallet(memberId: $m, currency: $c, amount: $a, reason: $r, idempotencyKey: $k) { code wallet { balance frozen } } }`;
const FUND = `mutation($c: String!, $a: String!, $r: String!, $k: String!) { adminFundMarketingAccount(currency: $c, amount: $a, reason: $r, idempotencyKey: $k) { code account { name currency balance frozen } } }`;
const SYSTEM = `query($c: String) { adminSystemAccounts(currency: $c) { name currency balance frozen } }`;
const op = (f: string) =>
  `mutation($m: ID!, $c: String!, $a: String!, $r: String!) { ${f}(memberId: $m, currency: $c, amount: $a, reference: $r) { code balance frozen } }`;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

describe("double-entry member ledger", () => {
  let h: Harness;
  let admin: Identity;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
    admin = await adminIdentity(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  async function total(currency: string): Promise<Decimal> {
    const [r] = await h.sg.services.prisma.$queryRaw<
      Array<{ s: string | null }>
    >`SELECT sum(balance + frozen)::text AS s FROM "WalletAccount" WHERE currency = ${currency}`;
    return new Decimal(r?.s ?? 0);
  }
  async function edge(currency: string): Promise<Decimal> {
    const [r] = await h.sg.services.prisma.$queryRaw<Array<{ s: string | null }>>`
      SELECT sum(CASE WHEN e.type = 'TOPUP' THEN e.amount ELSE -e.amount END)::text AS s
        FROM "LedgerEntry" e JOIN "WalletAccount" a ON a.id = e."accountId"
       WHERE a.currency = ${currency} AND e.type IN ('TOPUP', 'WITHDRAW')`;
    return new Decimal(r?.s ?? 0);
  }

  it("a mix of 600 operations, 120 at a time: the sum over all accounts moved by top-ups and withdrawals only; every row has its counter-account", async () => {
    const w = h.sg.services.wallet;
    const members = await Promise.all(Array.from({ length: 6 }, () => registerMember(h)));
    const before = await total("CNY");
    const edgeBefore = await edge("CNY");
    for (const m of members) await topUp(h, m, { c: "CNY", a: "100.00", k: "seed" });
    expect((await h.ok(FUND, { c: "CNY", a: "500.00", r: "campaign budget", k: "mix-fund" }, admin)).adminFundMarketingAccount.code).toBe(
      "OK",
    );
    expect((await w.single({ system: "MARKETING" }, "CNY", "300.00", "FREEZE", "mix-rain")).code).toBe("OK");

    const call = (f: string, m: string, a: string, r: string) => h.ok(op(f), { m, c: "CNY", a, r }, INTERNAL);
    let ops: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) {
      // 20 rounds (120 operations) at a time: a loaded machine would otherwise queue requests past the identity header's validity.
      if (i % 20 === 0) {
        await Promise.all(ops);
        ops = [];
      }
      const m = members[i % members.length]!;
      const k = `mix-${i}`;
      ops.push(topUp(h, m, { c: "CNY", a: "1.10", k }));
      ops.push(withdraw(h, m, { c: "CNY", a: "2.35", k }));
      // A wallet payment: freeze, then capture (even) or release (odd); a refund of captured money.
      ops.push(
        call("walletFreeze", m.memberId, "3.00", `pay-${k}`).then(() =>
          i % 2
            ? call("walletUnfreeze", m.memberId, "3.00", `pay-${k}`)
            : call("walletCaptureFrozen", m.memberId, "3.00", `pay-${k}`).then(() =>
                call("walletCredit", m.memberId, "1.25", `refund-${k}`),
              ),
        ),
      );
      ops.push(h.ok(ADJUST, { m: m.memberId, c: "CNY", a: i % 3 ? "0.40" : "-0.70", r: "goodwill", k }, admin));
      // A red-envelope share out of the pooled freeze.
      ops.push(
        w.transfer({
          from: { system: "MARKETING" },
          fromType: "CAPTURE",
          to: { memberId: m.memberId },
          currency: "CNY",
          amount: "0.99",
          reference: `mix-rain:${k}`,
          settle: "none",
        }),
      );
      ops.push(
        w.transfer({
          from: { system: "MARKETING" },
          fromType: "CAPTURE",
          to: { memberId: m.memberId },
          currency: "CNY",
          amount: "0.99",
          reference: `mix-rain:${k}`,
          settle: "none",
        }),
      );
    }
    await Promise.all(ops);
    // The rest of the pooled freeze goes back to MARKETING, once.
    const rest = new Decimal("300.00").minus(new Decimal("0.99").times(100)).toFixed(2);
    expect((await w.single({ system: "MARKETING" }, "CNY", rest, "UNFREEZE", "mix-rain", { settle: "partial" })).code).toBe("OK");
    expect((await w.single({ system: "MARKETING" }, "CNY", rest, "UNFREEZE", "mix-rain", { settle: "partial" })).applied).toBe(false);

    // The invariant.
    const moved = (await total("CNY")).minus(before);
    expect(moved.equals((await edge("CNY")).minus(edgeBefore))).toBe(true);
    // Marketing: funded 500, 99.00 went out as shares, nothing left frozen.
    const sys = (await h.ok(SYSTEM, { c: "CNY" }, admin)).adminSystemAccounts;
    expect(sys.find((a: { name: string }) => a.name === "MARKETING")).toMatchObject({ frozen: "0.00" });
    const p = h.sg.services.prisma;
    // Every row has its counter-account (only the edge has none), and a transfer's two rows name each other.
    const rows = await p.ledgerEntry.findMany({ where: { account: { currency: "CNY" } } });
    for (const e of rows) {
      if (e.type === "TOPUP" || e.type === "WITHDRAW") expect(e.counterAccountId).toBeNull();
      else expect(e.counterAccountId).not.toBeNull();
      if (e.type === "FREEZE" || e.type === "UNFREEZE") expect(e.counterAccountId).toBe(e.accountId);
    }
    const byKey = new Map(rows.map((e) => [`${e.accountId}|${e.type}|${e.reference}`, e]));
    for (const e of rows.filter((r) => r.type === "DEBIT" || r.type === "CAPTURE")) {
      const other = byKey.get(`${e.counterAccountId}|CREDIT|${e.reference}`);
      expect(other?.counterAccountId).toBe(e.accountId);
      expect(other?.amount.toString()).toBe(e.amount.toString());
    }
    expect(rows.filter((r) => r.type === "CREDIT").length).toBe(rows.filter((r) => r.type === "DEBIT" || r.type === "CAPTURE").length);
    // Each account's balance and frozen are its ledger replayed; no member below zero.
    const accounts = await p.walletAccount.findMany({ where: { currency: "CNY" }, include: { entries: true } });
    for (const a of accounts) {
      let bal = new Decimal(0);
      let frz = new Decimal(0);
      for (const e of a.entries) {
        const x = new Decimal(e.amount.toString());
        if (e.type === "TOPUP" || e.type === "CREDIT" || e.type === "UNFREEZE") bal = bal.plus(x);
        if (e.type === "DEBIT" || e.type === "FREEZE") bal = bal.minus(x);
        if (e.type === "FREEZE") frz = frz.plus(x);
        if (e.type === "UNFREEZE" || e.type === "CAPTURE" || e.type === "WITHDRAW") frz = frz.minus(x);
      }
      expect([a.system ?? "member", bal.toFixed(2)]).toEqual([a.system ?? "member", new Decimal(a.balance.toString()).toFixed(2)]);
      expect(frz.equals(a.frozen.toString())).toBe(true);
      if (a.system !== "ADJUSTMENT") expect(bal.isNegative()).toBe(false);
    }
  }, 180_000);

  it("myWalletLedger: newest first, paged, with kinds, signed changes and counterparties", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "CNY", a: "10.00", k: "l1" });
    await h.ok(op("walletFreeze"), { m: m.memberId, c: "CNY", a: "4.00", r: "pay-l" }, INTERNAL);
    await h.ok(op("walletCaptureFrozen"), { m: m.memberId, c: "CNY", a: "4.00", r: "pay-l" }, INTERNAL);
    await h.ok(ADJUST, { m: m.memberId, c: "CNY", a: "2.50", r: "sorry for the delay", k: "l-adj" }, admin);
    const first = (await h.ok(LEDGER, { c: "CNY", f: 3 }, m.identity)).myWalletLedger;
    expect(first.items.map((i: any) => [i.kind, i.amount, i.change, i.balanceAfter, i.frozenAfter, i.counterparty])).toEqual([
      ["CREDIT", "2.50", "2.50", "8.50", "0.00", "ADJUSTMENT"],
      ["CAPTURE", "4.00", "0.00", "6.00", "0.00", "SETTLEMENT"],
      ["FREEZE", "4.00", "-4.00", "6.00", "4.00", "SELF"],
    ]);
    expect(first.items[0].reason).toBe("sorry for the delay");
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = (await h.ok(LEDGER, { c: "CNY", f: 3, a: first.pageInfo.endCursor }, m.identity)).myWalletLedger;
    expect(next.items.map((i: any) => [i.kind, i.change, i.reference, i.counterparty])).toEqual([["TOPUP", "10.00", "l1", "EXTERNAL"]]);
    expect(next.pageInfo).toEqual({ hasNextPage: false, endCursor: next.items[0].id });
    // Another member sees only their own; bad paging is BAD_USER_INPUT; anonymous is refused.
    const other = await registerMember(h);
    expect((await h.ok(LEDGER, { c: "CNY" }, other.identity)).myWalletLedger.items).toEqual([]);
    expect(code(await h.gql(LEDGER, { c: "CNY", f: 0 }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(LEDGER, { c: "CNY", a: "x" }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(LEDGER, { c: "CNY" }))).toBe("UNAUTHENTICATED");
  });

  it("operators adjust only through ADJUSTMENT, with a reason, once per key; members cannot", async () => {
    const m = await registerMember(h);
    const a1 = await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "5.00", r: "compensation", k: "adj-1" }, admin);
    expect(a1.adminAdjustWallet).toEqual({ code: "OK", wallet: { balance: "5.00", frozen: "0.00" } });
    expect(
      (await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "5.00", r: "compensation", k: "adj-1" }, admin)).adminAdjustWallet.wallet.balance,
    ).toBe("5.00");
    expect((await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "-6.00", r: "clawback", k: "adj-2" }, admin)).adminAdjustWallet.code).toBe(
      "INSUFFICIENT_BALANCE",
    );
    expect(
      (await h.ok(ADJUST, { m: m.memberId, c: "USD", a: "-1.50", r: "clawback", k: "adj-3" }, admin)).adminAdjustWallet.wallet.balance,
    ).toBe("3.50");
    expect(code(await h.gql(ADJUST, { m: m.memberId, c: "USD", a: "1.00", r: "  ", k: "adj-4" }, admin))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ADJUST, { m: m.memberId, c: "USD", a: "1.001", r: "x", k: "adj-5" }, admin))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ADJUST, { m: m.memberId, c: "USD", a: "1.00", r: "x", k: "adj-6" }, m.identity))).toBe("UNAUTHENTICATED");
    expect(
      (await h.ok(ADJUST, { m: "00000000-0000-0000-0000-000000000000", c: "USD", a: "1.00", r: "x", k: "adj-7" }, admin)).adminAdjustWallet
        .code,
    ).toBe("NO_ACCOUNT");
    expect(code(await h.gql(FUND, { c: "USD", a: "1.00", r: "x", k: "f" }, m.identity))).toBe("UNAUTHENTICATED");
    const rows = await h.sg.services.prisma.ledgerEntry.findMany({
      where: { reference: { startsWith: "adjust:adj-" } },
      include: { account: true, counterAccount: true },
    });
    expect(rows).toHaveLength(4);
    for (const r of rows) expect([r.account.system, r.counterAccount?.system].filter(Boolean)).toEqual(["ADJUSTMENT"]);
    expect(rows.every((r) => r.reason)).toBe(true);
  });
});
