/**
 * The payment subgraph against real PostgreSQL, Redis and BullMQ, with small real order/member
 * subgraphs (test/fakes.ts) and the built-in sandbox provider calling back over HTTP.
 */
import { randomUUID } from "node:crypto";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { dayOf } from "@mallgraph/platform/days";
import { Decimal } from "@mallgraph/platform/money";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import type { RunningSubgraph } from "@mallgraph/platform/subgraph";
import {
  createTestRedis,
  createTestSchema,
  outboxAuditEntries,
  type TestRedis,
  type TestSchema,
  waitFor,
} from "@mallgraph/platform/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alipaySignContent, rsaSha256Sign } from "../src/channels/crypto.ts";
import { createPaymentSubgraph } from "../src/index.ts";
import { seedPayment } from "../src/seed.ts";
import { startWorkers } from "../src/worker.ts";
import { client, fakeState, startFakeDeps, type FakeState } from "./fakes.ts";

const SECRET = "test-internal-secret-0123456789";
const ADMIN: Identity = { kind: "admin", id: "op-1", permissions: ["payment:read", "payment:write"] };
const READER: Identity = { kind: "admin", id: "op-2", permissions: ["payment:read"] };
const buyer = (id: string): Identity => ({ kind: "member", id });

let db: TestSchema;
let redis: TestRedis;
let state: FakeState;
let deps: RunningSubgraph;
let sg: Awaited<ReturnType<typeof createPaymentSubgraph>>;
let stopWorkers: () => Promise<void>;
let gql: ReturnType<typeof client>;
let config: Config;
const liveEvents: string[] = [];
let sub: ReturnType<typeof createRedis>;

const CREATE = `mutation($orderId: ID!, $channel: PaymentChannel!) { createPayment(orderId: $orderId, channel: $channel) { code message payment { id status amount currency checkoutRef clientPayload } } }`;
const COMPLETE = `mutation($ref: String!) { sandboxCompletePayment(checkoutRef: $ref) }`;
const REFUND = `mutation($id: ID!, $amount: String!, $reason: String!) { adminRefundPayment(paymentId: $id, amount: $amount, reason: $reason) { code message refund { id amount status } payment { id status refundedAmount } } }`;

function order(buyerId: string, payable: string, status = "PENDING_PAYMENT") {
  const id = randomUUID();
  state.orders.set(id, { id, orderNo: `NO${id.slice(0, 8)}`, buyerId, status, payable, currency: "CNY", subject: "测试商品" });
  return id;
}

async function create(orderId: string, channel: string, who: string) {
  const r = await gql(CREATE, { orderId, channel }, buyer(who));
  expect(r.errors).toBeUndefined();
  return r.data.createPayment as {
    code: string;
    message?: string;
    payment: { id: string; status: string; amount: string; currency: string; checkoutRef: string; clientPayload: string } | null;
  };
}

const prisma = () => sg.services.prisma;
const paymentRow = (id: string) => prisma().payment.findUniqueOrThrow({ where: { id } });
const callbackUrl = () => `http://127.0.0.1:${sg.port}/callbacks/sandbox`;
const postForm = (url: string, params: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  }).then(async (r) => ({ status: r.status, body: await r.text() }));

async function notifyQueueIdle(): Promise<boolean> {
  const c = await sg.services.queues.notify.getJobCounts("waiting", "active", "delayed");
  return c.waiting + c.active + c.delayed === 0;
}

beforeAll(async () => {
  db = await createTestSchema("payment");
  redis = createTestRedis();
  state = fakeState();
  deps = await startFakeDeps(SECRET, state);
  config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, INTERNAL_SECRET: SECRET } as any);
  const common = { databaseUrl: db.url, orderUrl: deps.url, memberUrl: deps.url, paymentTimeoutSeconds: 600 };
  sg = await createPaymentSubgraph({ config, port: 0, ...common });
  stopWorkers = await startWorkers(config, common);
  await seedPayment(sg.services.prisma, { sandboxEnabled: true });
  gql = client(sg.url, SECRET);
  sub = createRedis(redis.url);
  await sub.subscribe(`${redis.prefix}:events:paymentStatusChanged`);
  sub.on("message", (_c, m) => liveEvents.push(m));
});

afterAll(async () => {
  sub?.disconnect();
  await stopWorkers?.();
  await sg?.stop();
  await deps?.stop();
  await closeQueueConnections();
  await redis?.cleanup();
  await db?.drop();
});

describe("sandbox flow", () => {
  let orderId: string;
  let paymentId: string;
  let ref: string;

  it("createPayment answers a checkout reference and reuses the open payment", async () => {
    orderId = order("B1", "88.50");
    const r = await create(orderId, "SANDBOX", "B1");
    expect(r.code).toBe("OK");
    expect(r.payment).toMatchObject({ status: "PENDING", amount: "88.50", currency: "CNY" });
    expect(JSON.parse(r.payment!.clientPayload)).toMatchObject({ kind: "SANDBOX", checkoutRef: r.payment!.checkoutRef });
    paymentId = r.payment!.id;
    ref = r.payment!.checkoutRef;
    const again = await Promise.all(Array.from({ length: 10 }, () => create(orderId, "SANDBOX", "B1")));
    expect(new Set(again.map((a) => a.payment!.id))).toEqual(new Set([paymentId]));
    expect(await prisma().payment.count({ where: { orderId } })).toBe(1);
  });

  it("sandboxCompletePayment: the sandbox signs and POSTs its notification; paid once, order told once", async () => {
    const before = liveEvents.length;
    const r = await gql(COMPLETE, { ref }, buyer("B1"));
    expect(r).toEqual({ data: { sandboxCompletePayment: true } });
    const p = await paymentRow(paymentId);
    expect(p.status).toBe("SUCCEEDED");
    expect(p.paidAt).toBeTruthy();
    await waitFor(() => state.markPaidCalls.filter((c) => c.orderId === orderId).length === 1, "orderMarkPaid");
    await waitFor(notifyQueueIdle, "notify queue drained");
    expect(state.markPaidCalls.filter((c) => c.orderId === orderId)).toEqual([{ orderId, paymentId, channel: "SANDBOX" }]);
    expect(state.orders.get(orderId)!.status).toBe("PAID");
    expect((await paymentRow(paymentId)).orderNotifiedAt).toBeTruthy();
    await waitFor(() => liveEvents.length === before + 1, "live event");
    expect(JSON.parse(liveEvents[before]!)).toMatchObject({ keys: { paymentId }, audience: ["B1"] });
    // Completing again re-delivers the same notification: nothing changes.
    expect((await gql(COMPLETE, { ref }, buyer("B1"))).data.sandboxCompletePayment).toBe(true);
    expect(await prisma().paymentEvent.count({ where: { paymentId, type: "SUCCEEDED" } })).toBe(1);
    expect(await prisma().merchantLedgerEntry.count({ where: { paymentId } })).toBe(1);
  });

  it("the buyer reads the payment; another member cannot, nor complete its checkout", async () => {
    const q = `query($id: ID!) { payment(id: $id) { id status amount refundedAmount paidAt order { id } } }`;
    expect((await gql(q, { id: paymentId }, buyer("B1"))).data.payment).toMatchObject({
      id: paymentId,
      status: "SUCCEEDED",
      order: { id: orderId },
    });
    expect((await gql(q, { id: paymentId }, buyer("B2"))).data.payment).toBeNull();
    expect((await gql(q, { id: paymentId })).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect((await gql(COMPLETE, { ref }, buyer("B2"))).errors![0]!.extensions!.code).toBe("NOT_FOUND");
  });

  it("paying a paid order again is refused with ALREADY_PAID on any channel, nothing created", async () => {
    for (const ch of ["SANDBOX", "WALLET"]) {
      const r = await create(orderId, ch, "B1");
      expect(r.code).toBe("ALREADY_PAID");
    }
    expect(await prisma().payment.count({ where: { orderId } })).toBe(1);
  });

  it("a cancelled order is ORDER_NOT_PAYABLE, another member's order FORBIDDEN, unknown NOT_FOUND; nothing created", async () => {
    const cancelled = order("B1", "10.00", "CANCELLED");
    expect((await create(cancelled, "SANDBOX", "B1")).code).toBe("ORDER_NOT_PAYABLE");
    const other = order("B9", "10.00");
    expect((await gql(CREATE, { orderId: other, channel: "SANDBOX" }, buyer("B1"))).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect((await gql(CREATE, { orderId: randomUUID(), channel: "SANDBOX" }, buyer("B1"))).errors![0]!.extensions!.code).toBe("NOT_FOUND");
    expect((await gql(CREATE, { orderId: other, channel: "SANDBOX" })).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
    expect(await prisma().payment.count({ where: { orderId: { in: [cancelled, other] } } })).toBe(0);
  });

  it("a channel the app has not enabled is CHANNEL_DISABLED", async () => {
    const o = order("B1", "10.00");
    expect((await create(o, "ALIPAY", "B1")).code).toBe("CHANNEL_DISABLED");
    expect(await prisma().payment.count({ where: { orderId: o } })).toBe(0);
  });
});

describe("callbacks", () => {
  it("50 concurrent deliveries of one notification: paid once, one event, one ledger entry, orderMarkPaid once", async () => {
    const orderId = order("B3", "199.99");
    const { payment } = await create(orderId, "SANDBOX", "B3");
    const before = liveEvents.length;
    const trade = (await sg.services.sandbox.pay(payment!.checkoutRef))!;
    const params = await sg.services.sandbox.notification(trade);
    const answers = await Promise.all(Array.from({ length: 50 }, () => postForm(callbackUrl(), params)));
    expect(answers.every((a) => a.status === 200 && a.body === "success")).toBe(true);
    expect((await paymentRow(payment!.id)).status).toBe("SUCCEEDED");
    expect(await prisma().paymentNotification.count({ where: { paymentId: payment!.id } })).toBe(1);
    expect(await prisma().paymentEvent.count({ where: { paymentId: payment!.id } })).toBe(1);
    expect(await prisma().merchantLedgerEntry.count({ where: { paymentId: payment!.id } })).toBe(1);
    await waitFor(() => state.markPaidCalls.some((c) => c.orderId === orderId), "orderMarkPaid");
    await waitFor(notifyQueueIdle, "notify queue drained");
    expect(state.markPaidCalls.filter((c) => c.orderId === orderId).length).toBe(1);
    await waitFor(() => liveEvents.length >= before + 1, "live event");
    expect(liveEvents.slice(before).filter((m) => JSON.parse(m).keys.paymentId === payment!.id).length).toBe(1);
  });

  it("a bad signature is refused and changes nothing", async () => {
    const orderId = order("B4", "50.00");
    const { payment } = await create(orderId, "SANDBOX", "B4");
    const trade = (await sg.services.sandbox.createTrade({
      outTradeNo: payment!.checkoutRef,
      merchantAppId: "x",
      subject: "x",
      amount: "50",
      currency: "CNY",
      notifyUrl: "x",
    }))!;
    const params = await sg.services.sandbox.notification({ ...trade, status: "PAID", paidAt: new Date() });
    // Tampered after signing.
    expect((await postForm(callbackUrl(), { ...params, total_amount: "0.01" })).body).toBe("fail");
    // Signed with a key that is not the sandbox's.
    const { generateKeyPairSync } = await import("node:crypto");
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = {
      ...params,
      sign: rsaSha256Sign(
        alipaySignContent(params, ["sign", "sign_type"]),
        other.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      ),
    };
    expect((await postForm(callbackUrl(), forged)).body).toBe("fail");
    const p = await paymentRow(payment!.id);
    expect(p.status).toBe("PENDING");
    expect(await prisma().paymentNotification.count({ where: { paymentId: p.id } })).toBe(0);
    expect(await prisma().merchantLedgerEntry.count({ where: { paymentId: p.id } })).toBe(0);
    expect(state.markPaidCalls.some((c) => c.orderId === orderId)).toBe(false);
  });

  it("a correctly signed notification with a wrong amount is refused and recorded as an anomaly", async () => {
    const orderId = order("B4", "60.00");
    const { payment } = await create(orderId, "SANDBOX", "B4");
    await prisma().sandboxTransaction.update({
      where: { outTradeNo: payment!.checkoutRef },
      data: { amount: "6.00", status: "PAID", paidAt: new Date() },
    });
    const trade = (await sg.services.sandbox.trade(payment!.checkoutRef))!;
    expect(await sg.services.sandbox.deliver(trade)).toBe(false);
    const p = await paymentRow(payment!.id);
    expect(p.status).toBe("PENDING");
    expect(await prisma().paymentNotification.count({ where: { paymentId: p.id } })).toBe(0);
    const anomalies = await gql(`{ adminCallbackAnomalies { paymentId reason detail } }`, {}, ADMIN);
    expect(anomalies.data.adminCallbackAnomalies).toContainEqual(expect.objectContaining({ paymentId: p.id, reason: "AMOUNT_MISMATCH" }));
    // Put the sandbox trade back for the reconciliation later.
    await prisma().sandboxTransaction.update({
      where: { outTradeNo: payment!.checkoutRef },
      data: { amount: "60.00", status: "WAIT_PAY", paidAt: null },
    });
  });

  it("orderMarkPaid is retried by the notify job until the order acknowledges", async () => {
    const orderId = order("B5", "12.00");
    const { payment } = await create(orderId, "SANDBOX", "B5");
    state.markPaidFailures = 2;
    expect((await gql(COMPLETE, { ref: payment!.checkoutRef }, buyer("B5"))).data.sandboxCompletePayment).toBe(true);
    await waitFor(() => state.orders.get(orderId)!.status === "PAID", "order paid after retries");
    await waitFor(async () => !!(await paymentRow(payment!.id)).orderNotifiedAt, "acknowledged");
    expect(state.markPaidCalls.filter((c) => c.orderId === orderId).length).toBe(3);
  });
});

describe("time-outs", () => {
  async function expire(id: string) {
    await prisma().payment.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await sg.services.queues.timeouts.add("close-expired", { paymentId: id });
  }

  it("an unpaid payment closes after its time-out (the sandbox trade too); the buyer can pay no more", async () => {
    const orderId = order("B6", "30.00");
    const { payment } = await create(orderId, "SANDBOX", "B6");
    await expire(payment!.id);
    await waitFor(async () => (await paymentRow(payment!.id)).status === "CLOSED", "closed");
    expect((await sg.services.sandbox.trade(payment!.checkoutRef))!.status).toBe("CLOSED");
    expect((await gql(COMPLETE, { ref: payment!.checkoutRef }, buyer("B6"))).data.sandboxCompletePayment).toBe(false);
    expect((await paymentRow(payment!.id)).status).toBe("CLOSED");
    // A new payment can be opened for the order afterwards.
    const again = await create(orderId, "SANDBOX", "B6");
    expect(again.code).toBe("OK");
    expect(again.payment!.id).not.toBe(payment!.id);
  });

  it("a payment the channel reports paid (callback lost) is recovered as paid, not closed", async () => {
    const orderId = order("B6", "31.00");
    const { payment } = await create(orderId, "SANDBOX", "B6");
    await sg.services.sandbox.pay(payment!.checkoutRef); // paid at the provider, notification never delivered
    await expire(payment!.id);
    await waitFor(async () => (await paymentRow(payment!.id)).status === "SUCCEEDED", "recovered");
    await waitFor(() => state.markPaidCalls.some((c) => c.orderId === orderId), "orderMarkPaid");
    await waitFor(notifyQueueIdle, "notify queue drained");
    expect(state.markPaidCalls.filter((c) => c.orderId === orderId).length).toBe(1);
    expect((await sg.services.sandbox.trade(payment!.checkoutRef))!.status).toBe("PAID");
  });
});

describe("refunds", () => {
  let paymentId: string;
  let orderId: string;

  beforeAll(async () => {
    orderId = order("B7", "88.50");
    const { payment } = await create(orderId, "SANDBOX", "B7");
    paymentId = payment!.id;
    await gql(COMPLETE, { ref: payment!.checkoutRef }, buyer("B7"));
  });

  it("bad input and missing permission write nothing", async () => {
    expect((await gql(REFUND, { id: paymentId, amount: "abc", reason: "x" }, ADMIN)).errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect((await gql(REFUND, { id: paymentId, amount: "1.001", reason: "x" }, ADMIN)).errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect((await gql(REFUND, { id: paymentId, amount: "-1.00", reason: "x" }, ADMIN)).errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect((await gql(REFUND, { id: paymentId, amount: "1.00", reason: "x" }, READER)).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect((await gql(REFUND, { id: paymentId, amount: "1.00", reason: "x" }, buyer("B7"))).errors![0]!.extensions!.code).toBe(
      "UNAUTHENTICATED",
    );
    expect(await prisma().refund.count({ where: { paymentId } })).toBe(0);
  });

  it("partial refunds never exceed what was paid, also when concurrent; the full refund tells the order", async () => {
    const first = (await gql(REFUND, { id: paymentId, amount: "30.00", reason: "partial" }, ADMIN)).data.adminRefundPayment;
    expect(first).toMatchObject({
      code: "OK",
      refund: { amount: "30.00", status: "SUCCEEDED" },
      payment: { status: "SUCCEEDED", refundedAmount: "30.00" },
    });
    expect((await gql(REFUND, { id: paymentId, amount: "60.00", reason: "too much" }, ADMIN)).data.adminRefundPayment.code).toBe(
      "EXCEEDS_REFUNDABLE",
    );
    const many = await Promise.all(
      Array.from({ length: 10 }, () => gql(REFUND, { id: paymentId, amount: "10.00", reason: "storm" }, ADMIN)),
    );
    const codes = many.map((m) => m.data.adminRefundPayment.code);
    expect(codes.filter((c) => c === "OK").length).toBe(5);
    expect(codes.filter((c) => c === "EXCEEDS_REFUNDABLE").length).toBe(5);
    const last = (await gql(REFUND, { id: paymentId, amount: "8.50", reason: "rest" }, ADMIN)).data.adminRefundPayment;
    expect(last).toMatchObject({ code: "OK", payment: { status: "REFUNDED", refundedAmount: "88.50" } });
    expect((await gql(REFUND, { id: paymentId, amount: "0.01", reason: "more" }, ADMIN)).data.adminRefundPayment.code).toBe(
      "NOT_REFUNDABLE",
    );
    // The order books each refund once, with its own amount; together they are the whole payment.
    const refunds = await prisma().refund.findMany({ where: { paymentId, status: "SUCCEEDED" } });
    expect(refunds.length).toBe(7);
    await waitFor(() => state.markRefundedCalls.filter((c) => c.orderId === orderId).length === 7, "orderMarkRefunded per refund");
    await waitFor(notifyQueueIdle, "notify queue drained");
    const calls = state.markRefundedCalls.filter((c) => c.orderId === orderId);
    expect(new Set(calls.map((c) => c.refundId))).toEqual(new Set(refunds.map((r) => r.id)));
    // with each refund's reference (an after-sale's refund names it: the order completes that request)
    expect(new Set(calls.map((c) => c.reference))).toEqual(new Set(refunds.map((r) => r.reference)));
    expect(calls.reduce((s, c) => s.plus(c.amount), new Decimal(0)).toFixed(2)).toBe("88.50");
    expect(refunds.reduce((s, r) => s.plus(r.amount.toString()), new Decimal(0)).toFixed(2)).toBe("88.50");
    expect((await sg.services.sandbox.trade((await paymentRow(paymentId)).checkoutRef))!.refundedAmount.toString()).toBe("88.5");
    const ledger = await prisma().merchantLedgerEntry.findMany({ where: { paymentId } });
    expect(ledger.reduce((s, e) => s.plus(e.amount.toString()), new Decimal(0)).toFixed(2)).toBe("0.00");
  });

  it("each operator refund is in the audit trail (decision 0024): the Refund row, the payment's refunded amount before/after, no entry for a refusal", async () => {
    const entries = (await outboxAuditEntries(prisma(), "adminRefundPayment")).filter(
      (e) => (e.args as { paymentId: string }).paymentId === paymentId,
    );
    expect(entries.every((e) => e.service === "payment" && e.actorKind === "admin" && e.actorId === "op-1" && e.requestId)).toBe(true);
    const refunds = await prisma().refund.findMany({ where: { paymentId } });
    const created = entries.flatMap((e) => e.changes.filter((c) => c.entity === "Refund" && c.op === "create"));
    expect(new Set(created.map((c) => c.id))).toEqual(new Set(refunds.map((r) => r.id)));
    expect(created.every((c) => c.before === null && (c.after as { paymentId: string }).paymentId === paymentId)).toBe(true);
    // the refunded amount moves by each refund, 0.00 → 88.50 in all
    const payments = entries.flatMap((e) => e.changes.filter((c) => c.entity === "Payment" && c.id === paymentId)) as Array<{
      before: any;
      after: any;
    }>;
    const moves = payments
      .filter((c) => c.before.refundedAmount !== c.after.refundedAmount)
      .map((c) => [c.before.refundedAmount, c.after.refundedAmount]);
    expect(moves).toHaveLength(7);
    // and the last refund's status change of the payment, as the whole row before and after
    expect(payments.filter((c) => c.before.status !== c.after.status).map((c) => [c.before.status, c.after.status])).toEqual([
      ["SUCCEEDED", "REFUNDED"],
    ]);
    expect(moves.map(([b]) => b)).toContain("0.00");
    expect(moves.map(([, a]) => a)).toContain("88.50");
    expect(moves.reduce((s, [b, a]) => s.plus(a).minus(b), new Decimal(0)).toFixed(2)).toBe("88.50");
    // refused (EXCEEDS_REFUNDABLE, NOT_REFUNDABLE), bad input, FORBIDDEN: nothing changed, no entry
    expect(entries.every((e) => e.changes.length > 0 && (e.outcome === null || e.outcome === "OK"))).toBe(true);
    expect(entries.some((e) => ["60.00", "0.01"].includes((e.args as { amount: string }).amount))).toBe(false);
    expect(entries.some((e) => ["abc", "1.001", "-1.00"].includes((e.args as { amount: string }).amount))).toBe(false);
  });

  it("the same idempotency key refunds once", async () => {
    const o = order("B7", "9.00");
    const { payment } = await create(o, "SANDBOX", "B7");
    await gql(COMPLETE, { ref: payment!.checkoutRef }, buyer("B7"));
    const Q = `mutation($id: ID!) { adminRefundPayment(paymentId: $id, amount: "1.00", reason: "retry", idempotencyKey: "k-1") { code refund { id } payment { refundedAmount } } }`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => gql(Q, { id: payment!.id }, ADMIN)));
    expect(answers.every((a) => a.data.adminRefundPayment.code === "OK")).toBe(true);
    expect(new Set(answers.map((a) => a.data.adminRefundPayment.refund.id)).size).toBe(1);
    expect(await prisma().refund.count({ where: { paymentId: payment!.id } })).toBe(1);
    expect((await paymentRow(payment!.id)).refundedAmount.toString()).toBe("1");
  });

  it("order after-sales refund through the internal refundOrderPayment, idempotent per reference", async () => {
    const o = order("B8", "40.00");
    const { payment } = await create(o, "SANDBOX", "B8");
    await gql(COMPLETE, { ref: payment!.checkoutRef }, buyer("B8"));
    const Q = `mutation($o: ID!, $a: String!, $ref: String!) { refundOrderPayment(orderId: $o, amount: $a, reason: "退货", reference: $ref) { code refund { id amount } payment { refundedAmount } } }`;
    const internal: Identity = { kind: "internal", service: "order" };
    const twice = await Promise.all([gql(Q, { o, a: "15.00", ref: "as-1" }, internal), gql(Q, { o, a: "15.00", ref: "as-1" }, internal)]);
    expect(twice.map((t) => t.data.refundOrderPayment.code)).toEqual(["OK", "OK"]);
    expect(twice[0]!.data.refundOrderPayment.refund.id).toBe(twice[1]!.data.refundOrderPayment.refund.id);
    expect(await prisma().refund.count({ where: { paymentId: payment!.id } })).toBe(1);
    expect((await gql(Q, { o, a: "30.00", ref: "as-2" }, internal)).data.refundOrderPayment.code).toBe("EXCEEDS_REFUNDABLE");
    expect((await gql(Q, { o: order("B8", "1.00"), a: "1.00", ref: "as-3" }, internal)).data.refundOrderPayment.code).toBe(
      "NOT_REFUNDABLE",
    );
    expect((await gql(Q, { o, a: "1.00", ref: "as-4" }, buyer("B8"))).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    await waitFor(() => state.markRefundedCalls.some((c) => c.orderId === o && c.amount === "15.00"), "order books the refund");
  });

  it("a pending payment is NOT_REFUNDABLE", async () => {
    const o = order("B7", "5.00");
    const { payment } = await create(o, "SANDBOX", "B7");
    expect((await gql(REFUND, { id: payment!.id, amount: "1.00", reason: "x" }, ADMIN)).data.adminRefundPayment.code).toBe(
      "NOT_REFUNDABLE",
    );
  });
});

describe("wallet", () => {
  beforeAll(() => {
    state.wallets.set("W1:CNY", { balance: new Decimal("100.00"), frozen: new Decimal(0) });
  });

  it("freezes, captures and credits the merchant; the order is told", async () => {
    const orderId = order("W1", "40.00");
    const r = await create(orderId, "WALLET", "W1");
    expect(r).toMatchObject({ code: "OK", payment: { status: "SUCCEEDED", amount: "40.00" } });
    const w = state.wallets.get("W1:CNY")!;
    expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["60.00", "0.00"]);
    expect(state.walletCalls.filter((c) => c.reference === `pay:${r.payment!.id}`).map((c) => c.op)).toEqual(["freeze", "capture"]);
    await waitFor(() => state.orders.get(orderId)!.status === "PAID", "order paid");
  });

  it("insufficient balance is refused and nothing is kept", async () => {
    const orderId = order("W1", "500.00");
    expect((await create(orderId, "WALLET", "W1")).code).toBe("INSUFFICIENT_BALANCE");
    expect(await prisma().payment.count({ where: { orderId } })).toBe(0);
    const w = state.wallets.get("W1:CNY")!;
    expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["60.00", "0.00"]);
    expect((await create(order("NOWALLET", "1.00"), "WALLET", "NOWALLET")).code).toBe("NO_WALLET_ACCOUNT");
  });

  it("a refused capture is compensated: the frozen amount is released and the payment closed", async () => {
    const orderId = order("W1", "25.00");
    state.failCapture = true;
    const r = await create(orderId, "WALLET", "W1");
    state.failCapture = false;
    expect(r.code).toBe("CHANNEL_ERROR");
    expect(r.payment).toMatchObject({ status: "CLOSED" });
    const w = state.wallets.get("W1:CNY")!;
    expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["60.00", "0.00"]);
    expect(state.walletCalls.filter((c) => c.reference === `pay:${r.payment!.id}`).map((c) => c.op)).toEqual([
      "freeze",
      "capture",
      "freeze",
      "unfreeze",
    ]);
    // A new payment can be made afterwards.
    const again = await create(orderId, "WALLET", "W1");
    expect(again).toMatchObject({ code: "OK", payment: { status: "SUCCEEDED" } });
    expect(state.wallets.get("W1:CNY")!.balance.toFixed(2)).toBe("35.00");
  });

  it("a capture whose answer was lost is found by the compensation and the payment is paid", async () => {
    const orderId = order("W1", "5.00");
    state.captureThenFail = true;
    const r = await create(orderId, "WALLET", "W1");
    expect(r).toMatchObject({ code: "OK", payment: { status: "SUCCEEDED" } });
    const w = state.wallets.get("W1:CNY")!;
    expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["30.00", "0.00"]);
    await waitFor(() => state.orders.get(orderId)!.status === "PAID", "order paid");
  });

  it("the buyer closing an open wallet payment releases the frozen amount", async () => {
    // A wallet payment left open (e.g. the process stopped after the freeze).
    const orderId = order("W1", "10.00");
    const app = await sg.services.merchants.defaultApp();
    const p = await prisma().payment.create({
      data: {
        orderId,
        orderNo: "NO-W",
        buyerId: "W1",
        appId: app.id,
        merchantId: app.merchantId,
        channel: "WALLET",
        amount: "10.00",
        currency: "CNY",
        subject: "x",
        checkoutRef: `MGW${Date.now()}`,
        expiresAt: new Date(Date.now() + 60_000),
        walletFrozen: true,
      },
    });
    await sg.services.wallet.createCheckout(
      {
        id: p.id,
        checkoutRef: p.checkoutRef,
        buyerId: "W1",
        orderNo: "NO-W",
        subject: "x",
        amount: "10.00",
        currency: "CNY",
        expiresAt: p.expiresAt,
      },
      null as any,
      "",
    );
    expect(state.wallets.get("W1:CNY")!.frozen.toFixed(2)).toBe("10.00");
    const closed = await gql(`mutation($id: ID!) { closePayment(paymentId: $id) { id status } }`, { id: p.id }, buyer("W1"));
    expect(closed.data.closePayment.status).toBe("CLOSED");
    const w = state.wallets.get("W1:CNY")!;
    expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["30.00", "0.00"]);
    expect(
      (await gql(`mutation($id: ID!) { closePayment(paymentId: $id) { id } }`, { id: p.id }, buyer("W1"))).errors![0]!.extensions!.code,
    ).toBe("INVALID_STATE");
  });

  it("12 concurrent WALLET payments of one order (8 orders at once): each buyer is charged exactly once, each order told once", async () => {
    // A wallet payment can succeed within milliseconds, so a request that lost the order's one open
    // slot to another may find that payment already SUCCEEDED: it answers ALREADY_PAID, never an error.
    const buyers = Array.from({ length: 8 }, (_, i) => `W2-${i}`);
    for (const b of buyers) state.wallets.set(`${b}:CNY`, { balance: new Decimal("100.00"), frozen: new Decimal(0) });
    const orders = buyers.map((b) => ({ buyer: b, orderId: order(b, "30.00") }));
    const answers = await Promise.all(
      orders.flatMap(({ buyer: b, orderId }) => Array.from({ length: 12 }, () => gql(CREATE, { orderId, channel: "WALLET" }, buyer(b)))),
    );
    expect(answers.filter((a) => a.errors).map((a) => a.errors)).toEqual([]);
    const codes = answers.map((a) => a.data.createPayment.code as string);
    expect(codes.filter((c) => c !== "OK" && c !== "ALREADY_PAID")).toEqual([]);
    await waitFor(notifyQueueIdle, "notify queue drained");
    for (const { buyer: b, orderId } of orders) {
      // whatever raced, the net charge is the payable amount and nothing stays frozen
      const w = state.wallets.get(`${b}:CNY`)!;
      expect([w.balance.toFixed(2), w.frozen.toFixed(2)]).toEqual(["70.00", "0.00"]);
      const kept = await prisma().payment.findMany({ where: { orderId, status: "SUCCEEDED", refundedAmount: 0 } });
      expect(kept).toHaveLength(1);
      expect(state.markPaidCalls.filter((c) => c.orderId === orderId).map((c) => c.paymentId)).toEqual([kept[0]!.id]);
      expect(await prisma().payment.count({ where: { orderId, status: "PENDING" } })).toBe(0);
    }
  });

  it("a request whose new payment collides with an open one that has left PENDING since looks again: ALREADY_PAID, or CONFLICT after 3 tries", async () => {
    // The collision made deterministic: a trigger refuses this order's payment rows with the
    // one-open-payment index's unique_violation, while no PENDING row is there to reuse — what a
    // request sees when another's wallet payment succeeded between its INSERT and its look back.
    state.wallets.set("W3:CNY", { balance: new Decimal("100.00"), frozen: new Decimal(0) });
    const paidMeanwhile = order("W3", "30.00");
    const stuck = order("W3", "30.00");
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const table = `"${db.schema}"."Payment"`;
    try {
      await sql.query(`CREATE FUNCTION "${db.schema}".collide() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW."orderId" IN ('${paidMeanwhile}', '${stuck}') THEN
            RAISE unique_violation USING MESSAGE = 'duplicate key value violates unique constraint "Payment_one_open_per_order_channel"';
          END IF;
          RETURN NEW;
        END $$`);
      await sql.query(`CREATE TRIGGER collide BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION "${db.schema}".collide()`);
      let looks = 0;
      state.onOrderForPayment = (id) => {
        if (id !== paidMeanwhile) return;
        // the other request's payment marks the order paid after this one's first look
        if (++looks === 2) state.orders.get(id)!.status = "PAID";
      };
      const again = await create(paidMeanwhile, "WALLET", "W3");
      expect([again.code, looks]).toEqual(["ALREADY_PAID", 2]);

      const refused = await gql(CREATE, { orderId: stuck, channel: "WALLET" }, buyer("W3"));
      expect(refused.errors?.[0]?.extensions?.code).toBe("CONFLICT");
      expect(await prisma().payment.count({ where: { orderId: { in: [paidMeanwhile, stuck] } } })).toBe(0);
      expect(state.wallets.get("W3:CNY")!.balance.toFixed(2)).toBe("100.00");
    } finally {
      state.onOrderForPayment = undefined;
      await sql.query(`DROP TRIGGER IF EXISTS collide ON ${table}`);
      await sql.query(`DROP FUNCTION IF EXISTS "${db.schema}".collide()`);
      await sql.end();
    }
  });

  it("a wallet refund credits the buyer and debits the merchant; the ledger balances", async () => {
    // the 40.00 payment of the first wallet test (W1 has two SUCCEEDED ones: pick it, not the 5.00)
    const paid = await prisma().payment.findFirstOrThrow({
      where: { buyerId: "W1", status: "SUCCEEDED", amount: "40.00", purpose: "ORDER" },
    });
    expect((await gql(REFUND, { id: paid.id, amount: "15.00", reason: "return" }, ADMIN)).data.adminRefundPayment.code).toBe("OK");
    expect(state.wallets.get("W1:CNY")!.balance.toFixed(2)).toBe("45.00");
    const credits = await prisma().merchantLedgerEntry.findMany({ where: { channel: "WALLET", type: "CAPTURE" } });
    const debits = await prisma().merchantLedgerEntry.findMany({ where: { channel: "WALLET", type: "REFUND" } });
    const sum = (xs: Array<{ amount: { toString(): string } }>) => xs.reduce((s, e) => s.plus(e.amount.toString()), new Decimal(0));
    expect(sum(credits).toFixed(2)).toBe(state.captured.toFixed(2));
    expect(sum(debits).neg().toFixed(2)).toBe(state.credited.toFixed(2));
    // The merchant accounts equal the sum of their ledgers.
    for (const acc of await prisma().merchantAccount.findMany()) {
      const entries = await prisma().merchantLedgerEntry.findMany({ where: { accountId: acc.id } });
      expect(sum(entries).eq(acc.balance.toString())).toBe(true);
    }
  });
});

describe("operators", () => {
  it("create organizations, merchants, apps and channels; secrets are never returned; bad keys write nothing", async () => {
    const org = await gql(
      `mutation { adminCreateOrganization(input: { name: "Acme", members: [{ memberId: "M1", role: OWNER }, { memberId: "M2", role: FINANCE }] }) { id name members { memberId role } } }`,
      {},
      ADMIN,
    );
    expect(org.data.adminCreateOrganization.members).toEqual([
      { memberId: "M1", role: "OWNER" },
      { memberId: "M2", role: "FINANCE" },
    ]);
    const orgId = org.data.adminCreateOrganization.id;
    expect(
      (await gql(`mutation { adminCreateOrganization(input: { name: "Acme" }) { id } }`, {}, ADMIN)).errors![0]!.extensions!.code,
    ).toBe("ALREADY_EXISTS");
    const m = await gql(
      `mutation($o: ID!) { adminCreateMerchant(input: { organizationId: $o, code: "acme", name: "Acme Store" }) { id } }`,
      { o: orgId },
      ADMIN,
    );
    const app = await gql(
      `mutation($m: ID!) { adminCreatePaymentApp(input: { merchantId: $m, name: "web" }) { id isDefault } }`,
      { m: m.data.adminCreateMerchant.id },
      ADMIN,
    );
    const appId = app.data.adminCreatePaymentApp.id;
    const { generateKeyPairSync } = await import("node:crypto");
    const k = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const CONFIGURE = `mutation($i: ChannelConfigInput!) { adminConfigureChannel(input: $i) { channel enabled hasPrivateKey hasApiV3Key providerAppId } }`;
    const ok = await gql(
      CONFIGURE,
      {
        i: { appId, channel: "ALIPAY", enabled: true, providerAppId: "2021", privateKeyPem: k.privateKey, providerPublicKey: k.publicKey },
      },
      ADMIN,
    );
    expect(ok.data.adminConfigureChannel).toEqual({
      channel: "ALIPAY",
      enabled: true,
      hasPrivateKey: true,
      hasApiV3Key: false,
      providerAppId: "2021",
    });
    const bad = await gql(CONFIGURE, { i: { appId, channel: "WECHAT_PAY", enabled: true, privateKeyPem: "not a key" } }, ADMIN);
    expect(bad.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    const badV3 = await gql(CONFIGURE, { i: { appId, channel: "WECHAT_PAY", enabled: true, apiV3Key: "short" } }, ADMIN);
    expect(badV3.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect(await prisma().channelConfig.count({ where: { appId } })).toBe(1);
    expect((await gql(CONFIGURE, { i: { appId, channel: "SANDBOX", enabled: true } }, READER)).errors![0]!.extensions!.code).toBe(
      "FORBIDDEN",
    );
    const mine = await gql(`{ myOrganizations { name members { memberId role } } }`, {}, buyer("M2"));
    expect(mine.data.myOrganizations).toEqual([
      {
        name: "Acme",
        members: [
          { memberId: "M1", role: "OWNER" },
          { memberId: "M2", role: "FINANCE" },
        ],
      },
    ]);
    const merchantId = m.data.adminCreateMerchant.id;
    const OV = `query($m: ID!) { merchantTransactionOverview(merchantId: $m, from: "2026-11-01", to: "2026-11-30") { count } }`;
    expect((await gql(OV, { m: merchantId }, buyer("M2"))).data.merchantTransactionOverview).toEqual([]);
    expect((await gql(OV, { m: merchantId }, buyer("M3"))).errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect(
      (
        await gql(
          `mutation($o: ID!) { adminSetOrganizationMember(organizationId: $o, memberId: "M3", role: ADMIN) { members { memberId } } }`,
          { o: orgId },
          ADMIN,
        )
      ).data.adminSetOrganizationMember.members,
    ).toHaveLength(3);
    expect((await gql(OV, { m: merchantId }, buyer("M3"))).data.merchantTransactionOverview).toEqual([]);
    expect(
      (await gql(`mutation { adminCreateMerchant(input: { organizationId: "nope", code: "x1", name: "X" }) { id } }`, {}, ADMIN))
        .errors![0]!.extensions!.code,
    ).toBe("NOT_FOUND");
    expect(
      (
        await gql(
          `mutation($o: ID!) { adminCreateMerchant(input: { organizationId: $o, code: "bad code!", name: "X" }) { id } }`,
          { o: orgId },
          ADMIN,
        )
      ).errors![0]!.extensions!.code,
    ).toBe("BAD_USER_INPUT");
    expect(
      (
        await gql(
          `mutation($o: ID!) { adminCreateMerchant(input: { organizationId: $o, code: "acme", name: "Again" }) { id } }`,
          { o: orgId },
          ADMIN,
        )
      ).errors![0]!.extensions!.code,
    ).toBe("ALREADY_EXISTS");
    // The seed is idempotent.
    const counts = async () => [
      await prisma().organization.count(),
      await prisma().merchant.count(),
      await prisma().paymentApp.count(),
      await prisma().channelConfig.count(),
    ];
    const before = await counts();
    await seedPayment(prisma(), { sandboxEnabled: true });
    expect(await counts()).toEqual(before);
    const list = await gql(
      `{ adminMerchants { code name apps { name isDefault channels { channel hasPrivateKey } } accounts { currency balance } } }`,
      {},
      READER,
    );
    const demo = list.data.adminMerchants.find((x: any) => x.code === "mallgraph-self");
    expect(demo.name).toBe("mallgraph 自营");
    expect(demo.apps[0].isDefault).toBe(true);
    expect(demo.apps[0].channels.map((c: any) => c.channel).sort()).toEqual(["ALIPAY", "SANDBOX", "WALLET", "WECHAT_PAY"]);
  });

  it("reconciliation matches the sandbox statement, then finds injected differences (daily job)", async () => {
    const paid = await prisma().payment.findMany({ where: { channel: "SANDBOX", status: { in: ["SUCCEEDED", "REFUNDED"] } } });
    const date = dayOf(paid[0]!.paidAt!);
    await sg.services.queues.reconcile.add("reconcile", { date });
    const REPORT = `query($d: String!) { adminReconciliationReport(date: $d) { date matched localCount channelCount differences { kind checkoutRef paymentId localAmount channelAmount } } }`;
    await waitFor(async () => !!(await gql(REPORT, { d: date }, READER)).data.adminReconciliationReport, "report");
    const clean = (await gql(REPORT, { d: date }, READER)).data.adminReconciliationReport;
    expect(clean.differences).toEqual([]);
    expect(clean.matched).toBe(clean.localCount);
    expect(clean.channelCount).toBe(clean.localCount);

    // Inject: a trade paid at the channel that we never recorded, an amount mismatch, and a local
    // payment the channel does not list.
    await prisma().sandboxTransaction.create({
      data: {
        tradeNo: "SB-GHOST",
        outTradeNo: "MG-GHOST",
        merchantAppId: "x",
        subject: "x",
        amount: "9.99",
        currency: "CNY",
        status: "PAID",
        notifyUrl: "x",
        paidAt: paid[0]!.paidAt,
      },
    });
    await prisma().sandboxTransaction.update({ where: { outTradeNo: paid[0]!.checkoutRef }, data: { amount: "1.00" } });
    await prisma().sandboxTransaction.update({ where: { outTradeNo: paid[1]!.checkoutRef }, data: { status: "CLOSED" } });
    const report = (
      await gql(
        `mutation($d: String!) { adminRunReconciliation(date: $d) { differences { kind checkoutRef paymentId localAmount channelAmount } } }`,
        { d: date },
        ADMIN,
      )
    ).data.adminRunReconciliation;
    expect(report.differences).toHaveLength(3);
    expect(report.differences).toContainEqual({
      kind: "MISSING_LOCAL",
      checkoutRef: "MG-GHOST",
      paymentId: null,
      localAmount: null,
      channelAmount: "9.99",
    });
    expect(report.differences).toContainEqual({
      kind: "AMOUNT_MISMATCH",
      checkoutRef: paid[0]!.checkoutRef,
      paymentId: paid[0]!.id,
      localAmount: paid[0]!.amount.toFixed(2),
      channelAmount: "1.00",
    });
    expect(report.differences).toContainEqual(
      expect.objectContaining({
        kind: "MISSING_AT_CHANNEL",
        checkoutRef: paid[1]!.checkoutRef,
        paymentId: paid[1]!.id,
        channelAmount: null,
      }),
    );
    expect((await gql(REPORT, { d: "2026-13-01" }, READER)).errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
  });

  it("transaction overview groups by day/app/channel with exact sums; CSV export lists every payment", async () => {
    const all = await prisma().payment.findMany();
    const paid = all.filter((p) => p.status === "SUCCEEDED" || p.status === "REFUNDED");
    const days = [...new Set(all.map((p) => dayOf(p.createdAt)))].sort();
    const from = days[0]!;
    const to = days[days.length - 1]!;
    const rows = (
      await gql(
        `query($f: String!, $t: String!) { adminTransactionOverview(from: $f, to: $t) { day appId channel currency count amount refundedAmount } }`,
        { f: from, t: to },
        READER,
      )
    ).data.adminTransactionOverview;
    for (const ch of ["SANDBOX", "WALLET"]) {
      const mine = paid.filter((p) => p.channel === ch);
      const row = rows.filter((r: any) => r.channel === ch);
      expect(row.reduce((s: number, r: any) => s + r.count, 0)).toBe(mine.length);
      expect(row.reduce((s: Decimal, r: any) => s.plus(r.amount), new Decimal(0)).toFixed(2)).toBe(
        mine.reduce((s, p) => s.plus(p.amount.toString()), new Decimal(0)).toFixed(2),
      );
      expect(row.reduce((s: Decimal, r: any) => s.plus(r.refundedAmount), new Decimal(0)).toFixed(2)).toBe(
        mine.reduce((s, p) => s.plus(p.refundedAmount.toString()), new Decimal(0)).toFixed(2),
      );
    }
    const appId = paid[0]!.appId;
    const filtered = (
      await gql(
        `query($f: String!, $t: String!, $a: ID) { adminTransactionOverview(from: $f, to: $t, appId: $a) { appId } }`,
        { f: from, t: to, a: "other-app" },
        READER,
      )
    ).data.adminTransactionOverview;
    expect(filtered).toEqual([]);
    expect(appId).toBeTruthy();
    expect(
      (await gql(`{ adminTransactionOverview(from: "2026-11-22", to: "2026-11-01") { day } }`, {}, READER)).errors![0]!.extensions!.code,
    ).toBe("BAD_USER_INPUT");

    const csv = (await gql(`query($f: String!, $t: String!) { adminExportTransactions(from: $f, to: $t) }`, { f: from, t: to }, READER))
      .data.adminExportTransactions as string;
    const lines = csv.trim().split("\r\n");
    expect(lines[0]).toBe(
      "paymentId,orderId,orderNo,appId,merchantId,channel,status,amount,refundedAmount,currency,checkoutRef,providerTradeNo,createdAt,paidAt,closedAt",
    );
    expect(lines.length - 1).toBe(all.length);
    for (const p of all) expect(csv).toContain(`${p.id},${p.orderId},`);
    expect(
      (await gql(`{ adminExportTransactions(from: "2026-11-01", to: "2026-11-02") }`, {}, buyer("B1"))).errors![0]!.extensions!.code,
    ).toBe("UNAUTHENTICATED");

    const url = `http://127.0.0.1:${sg.port}/exports/transactions.csv?from=${from}&to=${to}`;
    const denied = await fetch(url);
    expect(denied.status).toBe(401);
    const res = await fetch(url, { headers: { "x-mg-identity": signIdentity(SECRET, READER) } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(await res.text()).toBe(csv);
  });
});

describe("wallet top-ups are payments", () => {
  const TOP_UP = `mutation($c: String!, $a: String!, $ch: PaymentChannel!, $k: String!) { topUpWallet(currency: $c, amount: $a, channel: $ch, idempotencyKey: $k) { code message payment { id status amount currency checkoutRef purpose orderId orderNo order { id } } } }`;
  const REFUND_TOP_UP = `mutation($id: ID!) { refundWalletTopUp(paymentId: $id) { code message refund { amount status } payment { status refundedAmount } } }`;
  const creditsOf = (member: string) => state.walletCalls.filter((c) => c.op === "topup" && c.memberId === member);

  it("a top-up is a WALLET_TOP_UP payment without an order; 50 duplicate callbacks credit the wallet once", async () => {
    state.wallets.set("T1:CNY", { balance: new Decimal(0), frozen: new Decimal(0) });
    const r = await gql(TOP_UP, { c: "CNY", a: "88.80", ch: "SANDBOX", k: "top-1" }, buyer("T1"));
    const t = r.data.topUpWallet;
    expect(t).toMatchObject({
      code: "OK",
      payment: { status: "PENDING", amount: "88.80", currency: "CNY", purpose: "WALLET_TOP_UP", orderId: null, orderNo: null, order: null },
    });
    // Nothing is credited before the payment succeeds; the same key is the same payment.
    expect(creditsOf("T1")).toEqual([]);
    expect((await gql(TOP_UP, { c: "CNY", a: "88.80", ch: "SANDBOX", k: "top-1" }, buyer("T1"))).data.topUpWallet.payment.id).toBe(
      t.payment.id,
    );
    expect((await gql(TOP_UP, { c: "CNY", a: "1.00", ch: "SANDBOX", k: "top-1" }, buyer("T1"))).errors?.[0]?.extensions?.code).toBe(
      "CONFLICT",
    );
    // 50 duplicate deliveries of the provider's notification, in parallel, and the credit job run again by hand.
    const done = await Promise.all(Array.from({ length: 50 }, () => gql(COMPLETE, { ref: t.payment.checkoutRef }, buyer("T1"))));
    // (A delivery the loaded machine answers late counts as not acknowledged: the provider would deliver again.)
    expect(done.every((d) => d.errors === undefined && typeof d.data?.sandboxCompletePayment === "boolean")).toBe(true);
    await waitFor(async () => !!(await paymentRow(t.payment.id)).orderNotifiedAt, "wallet credited");
    await Promise.all(Array.from({ length: 10 }, () => sg.services.payments.notifyOrderPaid(t.payment.id)));
    await waitFor(notifyQueueIdle, "notify queue drained");
    const p = await paymentRow(t.payment.id);
    expect(p.status).toBe("SUCCEEDED");
    expect(state.wallets.get("T1:CNY")!.balance.toFixed(2)).toBe("88.80");
    expect(new Set(creditsOf("T1").map((c) => c.reference))).toEqual(new Set([`topup:${t.payment.id}`]));
    expect(await prisma().paymentEvent.count({ where: { paymentId: t.payment.id, type: "SUCCEEDED" } })).toBe(1);
    // No order was ever told.
    expect(state.markPaidCalls.filter((c) => c.paymentId === t.payment.id)).toEqual([]);
  });

  it("WALLET is refused, bad input is BAD_USER_INPUT; nothing is written", async () => {
    const before = await prisma().payment.count();
    const bad = async (v: Record<string, string>) =>
      (await gql(TOP_UP, { c: "CNY", a: "10.00", ch: "SANDBOX", k: "bad", ...v }, buyer("T2"))).errors?.[0]?.extensions?.code;
    expect(await bad({ ch: "WALLET" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "-1" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "1.001" })).toBe("BAD_USER_INPUT");
    expect(await bad({ a: "1000000" })).toBe("BAD_USER_INPUT");
    expect(await bad({ c: "cny" })).toBe("BAD_USER_INPUT");
    expect(await bad({ k: "" })).toBe("BAD_USER_INPUT");
    expect((await gql(TOP_UP, { c: "CNY", a: "10.00", ch: "SANDBOX", k: "anon" })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await prisma().payment.count()).toBe(before);
  });

  it("an unspent top-up is refunded to its payment: frozen in the wallet, paid out when the channel confirms; a spent one is refused", async () => {
    state.wallets.set("T3:CNY", { balance: new Decimal(0), frozen: new Decimal(0) });
    const t = (await gql(TOP_UP, { c: "CNY", a: "20.00", ch: "SANDBOX", k: "top-3" }, buyer("T3"))).data.topUpWallet.payment;
    // Not paid yet: nothing to refund; an operator's refund of a top-up is refused (the money sits in the wallet).
    expect((await gql(REFUND_TOP_UP, { id: t.id }, buyer("T3"))).data.refundWalletTopUp.code).toBe("NOT_REFUNDABLE");
    await gql(COMPLETE, { ref: t.checkoutRef }, buyer("T3"));
    await waitFor(async () => !!(await paymentRow(t.id)).orderNotifiedAt, "wallet credited");
    expect((await gql(REFUND, { id: t.id, amount: "20.00", reason: "x" }, ADMIN)).data.adminRefundPayment.code).toBe("NOT_REFUNDABLE");
    expect((await gql(REFUND_TOP_UP, { id: t.id }, buyer("T4"))).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const r = (await gql(REFUND_TOP_UP, { id: t.id }, buyer("T3"))).data.refundWalletTopUp;
    expect(r).toMatchObject({
      code: "OK",
      refund: { amount: "20.00", status: "SUCCEEDED" },
      payment: { status: "REFUNDED", refundedAmount: "20.00" },
    });
    await waitFor(() => state.walletCalls.some((c) => c.op === "payout" && c.reference === `topup-refund:${t.id}`), "payout");
    expect(state.wallets.get("T3:CNY")).toEqual({ balance: new Decimal(0), frozen: new Decimal(0) });
    // Again: already refunded.
    expect((await gql(REFUND_TOP_UP, { id: t.id }, buyer("T3"))).data.refundWalletTopUp.code).toBe("NOT_REFUNDABLE");

    // Spent: the wallet no longer holds it, nothing is refunded.
    state.wallets.set("T5:CNY", { balance: new Decimal(0), frozen: new Decimal(0) });
    const s = (await gql(TOP_UP, { c: "CNY", a: "30.00", ch: "SANDBOX", k: "top-5" }, buyer("T5"))).data.topUpWallet.payment;
    await gql(COMPLETE, { ref: s.checkoutRef }, buyer("T5"));
    await waitFor(async () => !!(await paymentRow(s.id)).orderNotifiedAt, "wallet credited");
    state.wallets.get("T5:CNY")!.balance = new Decimal("29.99");
    expect((await gql(REFUND_TOP_UP, { id: s.id }, buyer("T5"))).data.refundWalletTopUp).toMatchObject({
      code: "TOP_UP_SPENT",
      refund: null,
      payment: { status: "SUCCEEDED", refundedAmount: "0.00" },
    });
  });
});
