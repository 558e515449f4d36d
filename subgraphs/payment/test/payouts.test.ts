/**
 * Withdrawals are payouts (decision 0026): frozen in the wallet, paid out through the sandbox's payout
 * API, settled by its signed callback — once however often it calls back; a failed payout releases
 * the freeze. Real PostgreSQL, Redis and BullMQ; the member wallet is the small real fake of test/fakes.ts.
 */
import { Decimal } from "@mallgraph/platform/money";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alipaySignContent, rsaSha256Sign } from "../src/channels/crypto.ts";
import {} from "./fakes.ts";
import { buyer, startHarness, type Harness } from "./harness.ts";

const WITHDRAW = `mutation($c: String!, $a: String!, $ch: PaymentChannel!, $k: String!) { withdrawFromWallet(currency: $c, amount: $a, channel: $ch, idempotencyKey: $k) { code message payout { id status amount currency channel providerPayoutNo failure completedAt } } }`;
const COMPLETE = `mutation($id: ID!, $ok: Boolean) { sandboxCompletePayout(payoutId: $id, succeed: $ok) }`;
const PAYOUT = `query($id: ID!) { payout(id: $id) { id status amount failure } }`;

let h: Harness;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;
const wallet = (member: string) => h.state.wallets.get(`${member}:CNY`)!;
const fund = (member: string, balance: string) =>
  h.state.wallets.set(`${member}:CNY`, { balance: new Decimal(balance), frozen: new Decimal(0) });
const callsOf = (member: string, op: string) => h.state.walletCalls.filter((c) => c.memberId === member && c.op === op);
const callbackUrl = () => `http://127.0.0.1:${h.sg.port}/callbacks/sandbox/payout`;
const postForm = (params: Record<string, string>) =>
  fetch(callbackUrl(), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  }).then(async (r) => ({ status: r.status, body: await r.text() }));

async function withdraw(member: string, amount: string, key: string, channel = "SANDBOX") {
  const r = await h.gql(WITHDRAW, { c: "CNY", a: amount, ch: channel, k: key }, buyer(member));
  expect(r.errors).toBeUndefined();
  return r.data.withdrawFromWallet as {
    code: string;
    message?: string;
    payout: { id: string; status: string; amount: string; providerPayoutNo: string | null; failure: string | null } | null;
  };
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("withdrawals are payouts", () => {
  it("the amount is frozen and paid out; 50 duplicate success callbacks leave the wallet once and book one merchant payout", async () => {
    fund("W1", "100.00");
    const w = await withdraw("W1", "30.50", "wd-1");
    expect(w).toMatchObject({ code: "OK", payout: { status: "PENDING", amount: "30.50", failure: null } });
    expect(w.payout!.providerPayoutNo).toMatch(/^SBP/);
    // Frozen, not gone: the channel has not paid yet.
    expect(wallet("W1")).toEqual({ balance: new Decimal("69.50"), frozen: new Decimal("30.50") });
    // The same key is the same payout; another amount under it is CONFLICT.
    expect((await withdraw("W1", "30.50", "wd-1")).payout!.id).toBe(w.payout!.id);
    expect(code(await h.gql(WITHDRAW, { c: "CNY", a: "1.00", ch: "SANDBOX", k: "wd-1" }, buyer("W1")))).toBe("CONFLICT");
    expect(callsOf("W1", "freeze")).toHaveLength(1);

    // The provider pays and calls back, 50 times in parallel; the settle job runs again by hand too.
    const done = await Promise.all(Array.from({ length: 50 }, () => h.gql(COMPLETE, { id: w.payout!.id }, buyer("W1"))));
    expect(done.every((d) => d.errors === undefined)).toBe(true);
    await waitFor(
      async () => !!(await h.sg.services.prisma.payout.findUniqueOrThrow({ where: { id: w.payout!.id } })).walletSettledAt,
      "wallet settled",
    );
    await Promise.all(Array.from({ length: 10 }, () => h.sg.services.payments.settlePayout(w.payout!.id)));
    expect((await h.gql(PAYOUT, { id: w.payout!.id }, buyer("W1"))).data.payout).toMatchObject({
      status: "SUCCEEDED",
      amount: "30.50",
      failure: null,
    });
    expect(wallet("W1")).toEqual({ balance: new Decimal("69.50"), frozen: new Decimal(0) });
    expect(callsOf("W1", "payout").map((c) => c.reference)).toEqual(expect.arrayContaining([`payout:${w.payout!.id}`]));
    expect(new Set(callsOf("W1", "payout").map((c) => c.reference)).size).toBe(1);
    expect(callsOf("W1", "unfreeze")).toEqual([]);
    const booked = await h.sg.services.prisma.merchantLedgerEntry.findMany({ where: { payoutId: w.payout!.id } });
    expect(booked.map((e) => [e.type, e.amount.toString(), e.paymentId])).toEqual([["PAYOUT", "-30.5", null]]);
    // Another member sees nothing of it and cannot finish it.
    expect((await h.gql(PAYOUT, { id: w.payout!.id }, buyer("W9"))).data.payout).toBeNull();
    expect(code(await h.gql(COMPLETE, { id: w.payout!.id }, buyer("W9")))).toBe("NOT_FOUND");
  });

  it("a failed payout releases the freeze once; a forged late success changes nothing", async () => {
    fund("W2", "10.00");
    const w = await withdraw("W2", "10.00", "wd-2");
    expect(wallet("W2")).toEqual({ balance: new Decimal(0), frozen: new Decimal("10.00") });
    await Promise.all(Array.from({ length: 50 }, () => h.gql(COMPLETE, { id: w.payout!.id, ok: false }, buyer("W2"))));
    await waitFor(
      async () => !!(await h.sg.services.prisma.payout.findUniqueOrThrow({ where: { id: w.payout!.id } })).walletSettledAt,
      "freeze released",
    );
    const p = (await h.gql(PAYOUT, { id: w.payout!.id }, buyer("W2"))).data.payout;
    expect(p).toMatchObject({ status: "FAILED", failure: "the payee's account refused the transfer" });
    expect(wallet("W2")).toEqual({ balance: new Decimal("10.00"), frozen: new Decimal(0) });
    // Released once: the settle job and the inline settle may both ask; the wallet applies its reference once.
    expect(new Set(callsOf("W2", "unfreeze").map((c) => c.reference))).toEqual(new Set([`payout:${w.payout!.id}`]));
    expect(callsOf("W2", "payout")).toEqual([]);
    // The provider's key signing a SUCCESS after the failure: acknowledged, but the payout stays FAILED.
    const row = (await h.sg.services.sandbox.payout(w.payout!.id))!;
    const late = { ...(await h.sg.services.sandbox.payoutNotification({ ...row, status: "SUCCESS", failReason: null })) };
    expect((await postForm(late)).body).toBe("success");
    expect((await h.sg.services.prisma.payout.findUniqueOrThrow({ where: { id: w.payout!.id } })).status).toBe("FAILED");
    expect(await h.sg.services.prisma.merchantLedgerEntry.count({ where: { payoutId: w.payout!.id } })).toBe(0);
    expect(callsOf("W2", "payout")).toEqual([]);
  });

  it("bad signatures, unknown payouts and wrong amounts are refused and change nothing", async () => {
    fund("W3", "5.00");
    const w = await withdraw("W3", "5.00", "wd-3");
    const row = (await h.sg.services.sandbox.finishPayout(w.payout!.id, true))!;
    const good = await h.sg.services.sandbox.payoutNotification(row);
    expect((await postForm({ ...good, sign: good.sign!.slice(0, -8) + "AAAAAAA=" })).body).toBe("fail");
    expect((await postForm({ ...good, amount: "500.00" })).body).toBe("fail"); // no longer the signed content
    // Signed with the provider's key but for another amount: refused and recorded.
    const keys = await h.sg.services.sandbox.init();
    const wrong: Record<string, string> = { ...good, amount: "4.00", notify_id: "forged-amount" };
    delete wrong.sign;
    wrong.sign = rsaSha256Sign(alipaySignContent(wrong, ["sign", "sign_type"]), keys.privateKeyPem);
    expect((await postForm(wrong)).body).toBe("fail");
    const unknown: Record<string, string> = { ...good, out_payout_no: "00000000-0000-0000-0000-000000000000", notify_id: "forged-unknown" };
    delete unknown.sign;
    unknown.sign = rsaSha256Sign(alipaySignContent(unknown, ["sign", "sign_type"]), keys.privateKeyPem);
    expect((await postForm(unknown)).body).toBe("fail");
    expect((await h.sg.services.prisma.payout.findUniqueOrThrow({ where: { id: w.payout!.id } })).status).toBe("PENDING");
    expect(wallet("W3")).toEqual({ balance: new Decimal(0), frozen: new Decimal("5.00") });
    const anomalies = await h.sg.services.prisma.callbackAnomaly.findMany({ where: { detail: { contains: "forged" } } });
    expect(anomalies.map((a) => a.reason).sort()).toEqual(["AMOUNT_MISMATCH", "UNKNOWN_TRADE"]);
    // The real notification settles it.
    expect((await postForm(good)).body).toBe("success");
    await waitFor(() => wallet("W3").frozen.isZero(), "paid out");
    expect(wallet("W3").balance.toFixed(2)).toBe("0.00");
  });

  it("30 parallel withdrawals of a wallet worth 12: exactly 12 payouts, the refused ones keep nothing", async () => {
    fund("W4", "12.00");
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => withdraw("W4", "1.00", `p-${i}`)));
    expect(rs.filter((r) => r.code === "OK")).toHaveLength(12);
    expect(rs.filter((r) => r.code === "INSUFFICIENT_BALANCE" && r.payout === null)).toHaveLength(18);
    expect(await h.sg.services.prisma.payout.count({ where: { memberId: "W4" } })).toBe(12);
    expect(wallet("W4")).toEqual({ balance: new Decimal(0), frozen: new Decimal("12.00") });
    // A refused key may be used again once money is back.
    const refusedKey = `p-${rs.findIndex((r) => r.code !== "OK")}`;
    wallet("W4").balance = new Decimal("1.00");
    expect((await withdraw("W4", "1.00", refusedKey)).code).toBe("OK");
  });

  it("a freeze whose answer was lost: the withdrawal answers the PENDING payout and the send-payout job finishes sending it", async () => {
    fund("W6", "20.00");
    h.state.freezeThenFail = 1;
    const w = await withdraw("W6", "20.00", "wd-6");
    expect(w).toMatchObject({ code: "OK", payout: { status: "PENDING", providerPayoutNo: null } });
    // The job asks the wallet again (the same reference: frozen once) and the sandbox accepts the payout.
    await waitFor(
      async () => !!(await h.sg.services.prisma.payout.findUniqueOrThrow({ where: { id: w.payout!.id } })).providerPayoutNo,
      "the payout sent by the job",
    );
    expect(wallet("W6")).toEqual({ balance: new Decimal(0), frozen: new Decimal("20.00") });
    expect(await h.sg.services.sandbox.payout(w.payout!.id)).toMatchObject({ status: "PROCESSING", payee: "W6" });
    expect(await h.gql(COMPLETE, { id: w.payout!.id }, buyer("W6"))).toMatchObject({ data: { sandboxCompletePayout: true } });
    await waitFor(() => wallet("W6").frozen.isZero(), "paid out");
    expect(wallet("W6").balance.toFixed(2)).toBe("0.00");
  });

  it("WALLET and bad input are BAD_USER_INPUT, a channel without a payout API PAYOUT_UNSUPPORTED; nothing is written", async () => {
    fund("W5", "50.00");
    const before = await h.sg.services.prisma.payout.count();
    const bad = async (v: Record<string, string>) =>
      code(await h.gql(WITHDRAW, { c: "CNY", a: "10.00", ch: "SANDBOX", k: "bad", ...v }, buyer("W5")));
    expect(await bad({ ch: "WALLET" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "-1" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "1.001" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "1000000" })).toBe("BAD_USER_INPUT");
    expect(await bad({ c: "cny" })).toBe("BAD_USER_INPUT");
    expect(await bad({ k: "" })).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(WITHDRAW, { c: "CNY", a: "10.00", ch: "SANDBOX", k: "anon" }))).toBe("UNAUTHENTICATED");
    expect(await withdraw("W5", "10.00", "alipay", "ALIPAY")).toMatchObject({ code: "PAYOUT_UNSUPPORTED", payout: null });
    expect(await h.sg.services.prisma.payout.count()).toBe(before);
    expect(wallet("W5")).toEqual({ balance: new Decimal("50.00"), frozen: new Decimal(0) });
  });
});
