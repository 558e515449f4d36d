import { Decimal } from "@mallgraph/platform/money";
import { bullPrefix, QueueName } from "@mallgraph/platform/queue";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCurrencyService } from "../src/services/currencies.ts";
import type { CreateAccountsJob } from "../src/services/job-contracts.ts";
import { createHarness, INTERNAL, ORDER_SERVICE, topUp, registerMember, waitFor, withdraw, type Harness } from "./helpers.ts";

// Paid top-ups arrive from payment through the internal walletTopUp (the member pays in payment's topUpWallet);
// withdrawals are payment's payouts: walletFreeze, then walletPayOut once the channel paid out (helpers.withdraw).
const TOPUP = `mutation($m: ID!, $c: String!, $a: String!, $k: String!) { walletTopUp(memberId: $m, currency: $c, amount: $a, reference: $k) { code balance frozen } }`;
const op = (f: string) =>
  `mutation($m: ID!, $c: String!, $a: String!, $r: String!) { ${f}(memberId: $m, currency: $c, amount: $a, reference: $r) { code balance frozen } }`;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

describe("multi-currency wallet", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function ledgerCheck(memberId: string, currency: string) {
    const acc = await h.sg.services.prisma.walletAccount.findUniqueOrThrow({
      where: { memberId_currency: { memberId, currency } },
      include: { entries: true },
    });
    let bal = new Decimal(0);
    let frz = new Decimal(0);
    for (const e of acc.entries) {
      const a = new Decimal(e.amount.toString());
      if (e.type === "TOPUP" || e.type === "CREDIT") bal = bal.plus(a);
      if (e.type === "DEBIT") bal = bal.minus(a);
      if (e.type === "WITHDRAW") frz = frz.minus(a);
      if (e.type === "FREEZE") {
        bal = bal.minus(a);
        frz = frz.plus(a);
      }
      if (e.type === "UNFREEZE") {
        bal = bal.plus(a);
        frz = frz.minus(a);
      }
      if (e.type === "CAPTURE") frz = frz.minus(a);
    }
    expect(bal.equals(acc.balance.toString())).toBe(true);
    expect(frz.equals(acc.frozen.toString())).toBe(true);
    return acc;
  }

  it("tops up and withdraws with exact decimals; idempotent per key", async () => {
    const m = await registerMember(h);
    const r = await topUp(h, m, { c: "CNY", a: "100.50", k: "t1" });
    expect(r.topUpWallet).toEqual({ code: "OK", wallet: { currency: "CNY", balance: "100.50", frozen: "0.00" } });
    const again = await topUp(h, m, { c: "CNY", a: "100.50", k: "t1" });
    expect(again.topUpWallet.wallet.balance).toBe("100.50");
    expect(code(await h.gql(TOPUP, { c: "CNY", a: "1.00", k: "t1", m: m.memberId }, INTERNAL))).toBe("CONFLICT");
    const w = await withdraw(h, m, { c: "CNY", a: "0.5", k: "w1" });
    expect(w.withdrawFromWallet).toEqual({ code: "OK", wallet: { currency: "CNY", balance: "100.00", frozen: "0.00" } });
    const no = await withdraw(h, m, { c: "CNY", a: "100.01", k: "w2" });
    expect(no.withdrawFromWallet).toEqual({ code: "INSUFFICIENT_BALANCE", wallet: { currency: "CNY", balance: "100.00", frozen: "0.00" } });
    expect((await topUp(h, m, { c: "JPY", a: "500", k: "j1" })).topUpWallet.wallet).toEqual({
      currency: "JPY",
      balance: "500",
      frozen: "0",
    });
    const acc = await ledgerCheck(m.memberId, "CNY");
    // The top-up; the withdrawal's freeze and its payout.
    expect(acc.entries.map((e) => e.type).sort()).toEqual(["FREEZE", "TOPUP", "WITHDRAW"]);
  });

  it("bad amounts and currencies: BAD_USER_INPUT, nothing written", async () => {
    const m = await registerMember(h);
    const before = await h.sg.services.prisma.ledgerEntry.count();
    for (const [c, a] of [
      ["CNY", "1.001"],
      ["JPY", "1.5"],
      ["CNY", "-5"],
      ["CNY", "0"],
      ["CNY", "abc"],
      ["CNY", "1e3"],
      ["XXX", "1"],
      ["EUR", "1"],
    ]) {
      expect(code(await h.gql(TOPUP, { c, a, k: `bad-${c}-${a}`, m: m.memberId }, INTERNAL))).toBe("BAD_USER_INPUT");
    }
    expect(code(await h.gql(TOPUP, { c: "CNY", a: "1", k: "", m: m.memberId }, INTERNAL))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(TOPUP, { c: "CNY", a: "1", k: "x", m: m.memberId }))).toBe("FORBIDDEN");
    expect(code(await h.gql(TOPUP, { c: "CNY", a: "1", k: "x", m: m.memberId }, m.identity))).toBe("FORBIDDEN");
    expect(await h.sg.services.prisma.ledgerEntry.count()).toBe(before);
  });

  it("100 parallel top-ups and 100 parallel withdrawals: balance == ledger sum, never negative, exact counts", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "CNY", a: "50.00", k: "seed" });
    const calls = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? topUp(h, m, { c: "CNY", a: "1.00", k: `p-top-${i}` }) : withdraw(h, m, { c: "CNY", a: "2.00", k: `p-wd-${i}` }),
    );
    const rs: Array<{ topUpWallet?: { code: string }; withdrawFromWallet?: { code: string } }> = await Promise.all(calls);
    const tops = rs.filter((r) => r.topUpWallet?.code === "OK").length;
    const wds = rs.filter((r) => r.withdrawFromWallet?.code === "OK").length;
    const refused = rs.filter((r) => r.withdrawFromWallet?.code === "INSUFFICIENT_BALANCE").length;
    expect(tops).toBe(100);
    expect(wds + refused).toBe(100);
    const acc = await ledgerCheck(m.memberId, "CNY");
    expect(new Decimal(acc.balance.toString()).equals(new Decimal(50).plus(tops).minus(wds * 2))).toBe(true);
    expect(new Decimal(acc.balance.toString()).isNegative()).toBe(false);
    expect(acc.entries.filter((e) => e.type === "WITHDRAW")).toHaveLength(wds);
    // Every ledger row's balanceAfter is non-negative too.
    expect(acc.entries.every((e) => !new Decimal(e.balanceAfter.toString()).isNegative())).toBe(true);
  });

  it("100 parallel withdrawal freezes of a balance worth 37: exactly 37 succeed", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "USD", a: "37.00", k: "seed" });
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => withdraw(h, m, { c: "USD", a: "1.00", k: `w-${i}` })));
    expect(rs.filter((r) => r.withdrawFromWallet.code === "OK")).toHaveLength(37);
    expect(rs.filter((r) => r.withdrawFromWallet.code === "INSUFFICIENT_BALANCE")).toHaveLength(63);
    const acc = await ledgerCheck(m.memberId, "USD");
    expect(acc.balance.toString()).toBe("0");
  });

  it("the same idempotency key sent 50 times in parallel moves money once", async () => {
    const m = await registerMember(h);
    const rs = await Promise.all(Array.from({ length: 50 }, () => topUp(h, m, { c: "CNY", a: "9.99", k: "same" })));
    expect(rs.every((r) => r.topUpWallet.code === "OK" && r.topUpWallet.wallet.balance === "9.99")).toBe(true);
    const acc = await ledgerCheck(m.memberId, "CNY");
    expect(acc.entries).toHaveLength(1);
  });

  it("internal freeze / unfreeze / capture / credit: idempotent per reference, codes for refusals", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "CNY", a: "100.00", k: "seed" });
    const call = async (f: string, a: string, r: string, c = "CNY", memberId = m.memberId) =>
      (await h.ok(op(f), { m: memberId, c, a, r }, INTERNAL))[f];
    expect(await call("walletFreeze", "30.00", "pay-1")).toEqual({ code: "OK", balance: "70.00", frozen: "30.00" });
    expect(await call("walletFreeze", "30.00", "pay-1")).toEqual({ code: "OK", balance: "70.00", frozen: "30.00" });
    const par = await Promise.all(Array.from({ length: 20 }, () => call("walletFreeze", "10.00", "pay-2")));
    expect(par.every((r) => r.code === "OK")).toBe(true);
    expect(await call("walletFreeze", "1000.00", "pay-3")).toMatchObject({
      code: "INSUFFICIENT_BALANCE",
      balance: "60.00",
      frozen: "40.00",
    });
    expect(await call("walletUnfreeze", "10.00", "pay-2")).toEqual({ code: "OK", balance: "70.00", frozen: "30.00" });
    expect(await call("walletUnfreeze", "10.00", "pay-2")).toEqual({ code: "OK", balance: "70.00", frozen: "30.00" });
    expect(await call("walletCaptureFrozen", "30.00", "pay-1")).toEqual({ code: "OK", balance: "70.00", frozen: "0.00" });
    expect(await call("walletCaptureFrozen", "30.00", "pay-1")).toEqual({ code: "OK", balance: "70.00", frozen: "0.00" });
    // A freeze is settled once, under its own reference, for its own amount.
    expect(await call("walletCaptureFrozen", "5.00", "pay-9")).toMatchObject({ code: "NO_FREEZE" });
    expect(await call("walletUnfreeze", "30.00", "pay-1")).toMatchObject({ code: "ALREADY_SETTLED", frozen: "0.00" });
    expect(await call("walletCaptureFrozen", "10.00", "pay-2")).toMatchObject({ code: "ALREADY_SETTLED" });
    await call("walletFreeze", "5.00", "pay-4");
    expect(code(await h.gql(op("walletCaptureFrozen"), { m: m.memberId, c: "CNY", a: "4.00", r: "pay-4" }, INTERNAL))).toBe("CONFLICT");
    expect(await call("walletUnfreeze", "5.00", "pay-4")).toEqual({ code: "OK", balance: "70.00", frozen: "0.00" });
    expect(await call("walletCredit", "12.34", "refund-1")).toEqual({ code: "OK", balance: "82.34", frozen: "0.00" });
    expect(await call("walletCredit", "12.34", "refund-1")).toEqual({ code: "OK", balance: "82.34", frozen: "0.00" });
    expect(await call("walletFreeze", "1.00", "x", "CNY", "00000000-0000-0000-0000-000000000000")).toEqual({
      code: "NO_ACCOUNT",
      balance: null,
      frozen: null,
    });
    expect(await call("walletCredit", "1.00", "x", "CNY", "00000000-0000-0000-0000-000000000000")).toEqual({
      code: "NO_ACCOUNT",
      balance: null,
      frozen: null,
    });
    await ledgerCheck(m.memberId, "CNY");
    // Not for members or anonymous callers.
    expect(code(await h.gql(op("walletCredit"), { m: m.memberId, c: "CNY", a: "1.00", r: "steal" }, m.identity))).toBe("FORBIDDEN");
    expect(code(await h.gql(op("walletCredit"), { m: m.memberId, c: "CNY", a: "1.00", r: "steal" }))).toBe("FORBIDDEN");
  });

  it("40 parallel captures and releases of one freeze: exactly one kind wins, money moves once", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "USD", a: "20.00", k: "seed" });
    const call = async (f: string, r: string) => (await h.ok(op(f), { m: m.memberId, c: "USD", a: "8.00", r }, INTERNAL))[f];
    await call("walletFreeze", "order-1");
    await call("walletFreeze", "order-2");
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(i % 2 ? "walletCaptureFrozen" : "walletUnfreeze", "order-1").then((r) => ({ kind: i % 2 ? "CAPTURE" : "UNFREEZE", ...r })),
      ),
    );
    const winners = new Set(rs.filter((r) => r.code === "OK").map((r) => r.kind));
    expect(winners.size).toBe(1);
    const winner = [...winners][0];
    expect(rs.filter((r) => r.kind === winner).every((r) => r.code === "OK")).toBe(true);
    expect(rs.filter((r) => r.kind !== winner).every((r) => r.code === "ALREADY_SETTLED")).toBe(true);
    const acc = await ledgerCheck(m.memberId, "USD");
    // order-2's freeze is untouched whatever happened to order-1.
    expect(acc.frozen.toString()).toBe("8");
    expect(acc.balance.toString()).toBe(winner === "CAPTURE" ? "4" : "12");
  });

  it("the ledger is append-only in the database: rows cannot be changed or removed", async () => {
    const m = await registerMember(h);
    await topUp(h, m, { c: "CNY", a: "10.00", k: "keep-1" });
    await withdraw(h, m, { c: "CNY", a: "4.00", k: "keep-2" });
    const p = h.sg.services.prisma;
    const acc = await p.walletAccount.findUniqueOrThrow({
      where: { memberId_currency: { memberId: m.memberId, currency: "CNY" } },
      include: { entries: { orderBy: { createdAt: "asc" } } },
    });
    const ids = acc.entries.map((e) => e.id);
    expect(ids).toHaveLength(3);
    await expect(p.$executeRaw`UPDATE "LedgerEntry" SET amount = 1 WHERE id = ${ids[1]!}`).rejects.toThrow(/append-only/);
    await expect(p.ledgerEntry.update({ where: { id: ids[0]! }, data: { reference: "rewritten" } })).rejects.toThrow(/append-only/);
    await expect(p.ledgerEntry.deleteMany({ where: { accountId: acc.id } })).rejects.toThrow(/append-only/);
    await expect(p.$executeRawUnsafe(`TRUNCATE "LedgerEntry" CASCADE`)).rejects.toThrow(/append-only/);
    const after = await p.ledgerEntry.findMany({ where: { accountId: acc.id }, orderBy: { createdAt: "asc" } });
    expect(after.map((e) => [e.id, e.type, e.amount.toString(), e.reference])).toEqual(
      acc.entries.map((e) => [e.id, e.type, e.amount.toString(), e.reference]),
    );
    await ledgerCheck(m.memberId, "CNY");
  });

  it("memberAddress answers the member's own address only (internal)", async () => {
    const a = await registerMember(h);
    const b = await registerMember(h);
    const add = await h.ok(
      `mutation($i: AddressInput!) { addAddress(input: $i) { id isDefault } }`,
      { i: { receiver: "Li Lei", phone: "13900000000", region: "Beijing Haidian", detail: "No. 1" } },
      a.identity,
    );
    const q = `query($m: ID!, $a: ID!) { memberAddress(memberId: $m, addressId: $a) { id receiver phone region detail } }`;
    expect((await h.ok(q, { m: a.memberId, a: add.addAddress.id }, ORDER_SERVICE)).memberAddress).toEqual({
      id: add.addAddress.id,
      receiver: "Li Lei",
      phone: "13900000000",
      region: "Beijing Haidian",
      detail: "No. 1",
    });
    expect((await h.ok(q, { m: b.memberId, a: add.addAddress.id }, ORDER_SERVICE)).memberAddress).toBeNull();
    expect(code(await h.gql(q, { m: a.memberId, a: add.addAddress.id }, a.identity))).toBe("FORBIDDEN");
  });

  it("adminAddCurrency enqueues create-accounts, which opens the missing accounts for every member (idempotent)", async () => {
    const members = await Promise.all(Array.from({ length: 7 }, () => registerMember(h)));
    const admin = await (await import("./helpers.ts")).adminIdentity(h);
    const add = `mutation($c: String!, $n: String!, $d: Int!) { adminAddCurrency(code: $c, name: $n, decimals: $d) { code name decimals } }`;
    expect((await h.ok(add, { c: "EUR", n: "Euro", d: 2 }, admin)).adminAddCurrency).toEqual({ code: "EUR", name: "Euro", decimals: 2 });
    const total = await h.sg.services.prisma.member.count();
    await waitFor(
      async () => (await h.sg.services.prisma.walletAccount.count({ where: { currency: "EUR", memberId: { not: null } } })) === total,
      "EUR accounts",
    );
    const me = await h.ok(`{ me { wallets { currency balance } } }`, {}, members[0]!.identity);
    expect(me.me.wallets.map((w: { currency: string }) => w.currency)).toEqual(["CNY", "EUR", "JPY", "USD"]);
    expect(code(await h.gql(add, { c: "EUR", n: "Euro", d: 2 }, admin))).toBe("ALREADY_EXISTS");
    expect(code(await h.gql(add, { c: "EURO", n: "Euro", d: 2 }, admin))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(add, { c: "GBP", n: "Pound", d: 9 }, admin))).toBe("BAD_USER_INPUT");
    // Running the job again opens nothing more; small batches cover everyone.
    expect(await h.sg.services.wallet.createAccounts("EUR", 2)).toBe(0);
    await h.sg.services.prisma.walletAccount.deleteMany({
      where: { currency: "EUR", memberId: { in: members.slice(0, 3).map((m) => m.memberId) } },
    });
    expect(await h.sg.services.wallet.createAccounts("EUR", 2)).toBe(3);
    // The new currency's digits apply at once.
    expect((await topUp(h, members[0]!, { c: "EUR", a: "3.10", k: "e" })).topUpWallet.wallet).toEqual({
      currency: "EUR",
      balance: "3.10",
      frozen: "0.00",
    });
    const member = members[1]!;
    expect(code(await h.gql(add, { c: "KRW", n: "Won", d: 0 }, member.identity))).toBe("UNAUTHENTICATED");
  });

  it("adminAddCurrency writes nothing when its create-accounts job cannot be queued (Redis unreachable)", async () => {
    // A real BullMQ queue on a Redis that does not answer: adding the job fails at once.
    const dead = new Redis("redis://127.0.0.1:1", {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on("error", () => undefined);
    const queue = new Queue<CreateAccountsJob>(QueueName.walletAccounts, {
      connection: dead,
      prefix: bullPrefix(h.config.REDIS_PREFIX, QueueName.walletAccounts),
    });
    queue.on("error", () => undefined);
    try {
      const broken = createCurrencyService(h.sg.services.prisma, queue);
      await expect(broken.add("XAG", "Silver", 2)).rejects.toThrow();
      expect(await h.sg.services.prisma.currency.findUnique({ where: { code: "XAG" } })).toBeNull();
    } finally {
      await queue.close().catch(() => undefined);
      dead.disconnect();
    }
    // The operator simply tries again once Redis is back.
    expect(await h.sg.services.currencies.add("XAG", "Silver", 2)).toMatchObject({ code: "XAG", decimals: 2 });
    await waitFor(
      async () =>
        (await h.sg.services.prisma.walletAccount.count({ where: { currency: "XAG", memberId: { not: null } } })) ===
        (await h.sg.services.prisma.member.count()),
      "XAG accounts",
    );
  });
});
