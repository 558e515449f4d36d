/**
 * Alipay and WeChat Pay through the payment subgraph's own callback routes, against a local fake
 * provider (test/fake-provider.ts); automatic refunds of duplicate / late / unwanted payments; the
 * live-event payload query and the Payment entity.
 */
import { signIdentity } from "@mallgraph/platform/auth";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeProvider } from "./fake-provider.ts";
import {} from "./fakes.ts";
import { ADMIN, SECRET, buyer, startHarness, type Harness } from "./harness.ts";

let h: Harness;
let fp: Awaited<ReturnType<typeof startFakeProvider>>;

const CREATE = `mutation($orderId: ID!, $channel: PaymentChannel!) { createPayment(orderId: $orderId, channel: $channel) { code message payment { id status amount checkoutRef clientPayload } } }`;
const CONFIGURE = `mutation($i: ChannelConfigInput!) { adminConfigureChannel(input: $i) { channel enabled } }`;

async function create(orderId: string, channel: string, who: string) {
  const r = await h.gql(CREATE, { orderId, channel }, buyer(who));
  expect(r.errors).toBeUndefined();
  return r.data.createPayment;
}
const row = (id: string) => h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id } });
const post = (path: string, body: string, headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }) =>
  fetch(`http://127.0.0.1:${h.sg.port}${path}`, { method: "POST", headers, body }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));
async function expire(id: string) {
  await h.sg.services.prisma.payment.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  await h.sg.services.queues.timeouts.add("close-expired", { paymentId: id });
}
const paidCalls = (orderId: string) => h.state.markPaidCalls.filter((c) => c.orderId === orderId).length;
async function notifyIdle() {
  const c = await h.sg.services.queues.notify.getJobCounts("waiting", "active", "delayed");
  return c.waiting + c.active + c.delayed === 0;
}

beforeAll(async () => {
  h = await startHarness();
  fp = await startFakeProvider();
  const app = await h.sg.services.merchants.defaultApp();
  const a = await h.gql(
    CONFIGURE,
    {
      i: {
        appId: app.id,
        channel: "ALIPAY",
        enabled: true,
        providerAppId: fp.alipayAppId,
        privateKeyPem: fp.keys.alipayMerchant.privateKey,
        providerPublicKey: fp.keys.alipay.publicKey,
        gatewayUrl: `${fp.url}/gateway.do`,
        tradeType: "PAGE",
      },
    },
    ADMIN,
  );
  expect(a.errors).toBeUndefined();
  const w = await h.gql(
    CONFIGURE,
    {
      i: {
        appId: app.id,
        channel: "WECHAT_PAY",
        enabled: true,
        providerAppId: fp.wx.appid,
        merchantNo: fp.wx.mchid,
        certSerial: fp.wx.serial,
        platformSerial: fp.wx.platformSerial,
        privateKeyPem: fp.keys.wxMerchant.privateKey,
        providerPublicKey: fp.keys.wxPlatform.publicKey,
        apiV3Key: fp.wx.apiV3Key,
        gatewayUrl: fp.url,
      },
    },
    ADMIN,
  );
  expect(w.errors).toBeUndefined();
});

afterAll(async () => {
  await h?.stop();
  await fp?.stop();
});

describe("Alipay end to end", () => {
  it("createPayment gives the signed page.pay request; Alipay's notification marks it paid once", async () => {
    const orderId = h.order("A1", "88.50");
    const r = await create(orderId, "ALIPAY", "A1");
    expect(r.code).toBe("OK");
    const payload = JSON.parse(r.payment.clientPayload);
    expect(payload.kind).toBe("REDIRECT");
    const u = new URL(payload.url);
    expect(u.origin + u.pathname).toBe(`${fp.url}/gateway.do`);
    const params = Object.fromEntries(u.searchParams);
    expect(fp.verifyAlipay(params)).toBe(true);
    expect(params.notify_url).toBe(`http://127.0.0.1:${h.sg.port}/callbacks/alipay`);
    expect(JSON.parse(params.biz_content!)).toMatchObject({ out_trade_no: r.payment.checkoutRef, total_amount: "88.50" });

    fp.trades.set(r.payment.checkoutRef, { status: "PAID", amount: "88.50", refunds: [] });
    const note = fp.alipayNotification(r.payment.checkoutRef, "88.50");
    const answers = await Promise.all(Array.from({ length: 20 }, () => post("/callbacks/alipay", note)));
    expect(answers.every((a) => a.body === "success")).toBe(true);
    expect((await row(r.payment.id)).status).toBe("SUCCEEDED");
    await waitFor(() => paidCalls(orderId) === 1, "order told");
    await waitFor(notifyIdle, "notify idle");
    expect(paidCalls(orderId)).toBe(1);
  });

  it("a tampered or wrong-amount notification is refused and changes nothing", async () => {
    const orderId = h.order("A2", "20.00");
    const r = await create(orderId, "ALIPAY", "A2");
    const tampered = fp.alipayNotification(r.payment.checkoutRef, "20.00").replace("total_amount=20.00", "total_amount=2.00");
    expect((await post("/callbacks/alipay", tampered)).body).toBe("fail");
    expect((await post("/callbacks/alipay", fp.alipayNotification(r.payment.checkoutRef, "2.00"))).body).toBe("fail");
    expect((await row(r.payment.id)).status).toBe("PENDING");
    const anomalies = await h.sg.services.prisma.callbackAnomaly.findMany({ where: { paymentId: r.payment.id } });
    expect(anomalies.map((a) => a.reason)).toEqual(["AMOUNT_MISMATCH"]);
  });

  it("a missing callback is recovered by trade query when the payment times out", async () => {
    const orderId = h.order("A3", "15.00");
    const r = await create(orderId, "ALIPAY", "A3");
    fp.trades.set(r.payment.checkoutRef, { status: "PAID", amount: "15.00", refunds: [] });
    await expire(r.payment.id);
    await waitFor(async () => (await row(r.payment.id)).status === "SUCCEEDED", "recovered");
    expect((await row(r.payment.id)).providerTradeNo).toBe(`ALI${r.payment.checkoutRef}`);
    await waitFor(() => paidCalls(orderId) === 1, "order told");
  });

  it("money arriving after the payment closed is taken back automatically (refund at Alipay)", async () => {
    const orderId = h.order("A4", "9.90");
    const r = await create(orderId, "ALIPAY", "A4");
    fp.trades.set(r.payment.checkoutRef, { status: "WAIT", amount: "9.90", refunds: [] });
    await expire(r.payment.id);
    await waitFor(async () => (await row(r.payment.id)).status === "CLOSED", "closed");
    expect(fp.trades.get(r.payment.checkoutRef)!.status).toBe("CLOSED");
    // The provider's race: it still reports the buyer paid.
    fp.trades.get(r.payment.checkoutRef)!.status = "PAID";
    expect((await post("/callbacks/alipay", fp.alipayNotification(r.payment.checkoutRef, "9.90"))).body).toBe("success");
    const p = await row(r.payment.id);
    expect(p.status).toBe("REFUNDED");
    expect(fp.trades.get(r.payment.checkoutRef)!.refunds).toEqual([{ no: expect.any(String), amount: "9.90" }]);
    expect((await h.sg.services.prisma.callbackAnomaly.findMany({ where: { paymentId: p.id } })).map((a) => a.reason)).toContain(
      "PAID_AFTER_CLOSE",
    );
    expect(paidCalls(orderId)).toBe(0);
  });
});

describe("WeChat Pay end to end", () => {
  it("Native order with a signed Authorization header; the encrypted notification marks it paid once", async () => {
    const orderId = h.order("X1", "66.60");
    const r = await create(orderId, "WECHAT_PAY", "X1");
    expect(r.code).toBe("OK");
    expect(JSON.parse(r.payment.clientPayload)).toEqual({
      kind: "QR_CODE",
      codeUrl: `weixin://wxpay/bizpayurl?pr=${r.payment.checkoutRef}`,
    });
    expect(fp.trades.get(r.payment.checkoutRef)).toMatchObject({ status: "WAIT", amount: "6660" });
    fp.trades.get(r.payment.checkoutRef)!.status = "PAID";
    const n = fp.wechatNotification(r.payment.checkoutRef, 6660);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post("/callbacks/wechat", n.body, n.headers)));
    expect(answers.every((a) => a.status === 200 && JSON.parse(a.body).code === "SUCCESS")).toBe(true);
    expect((await row(r.payment.id)).status).toBe("SUCCEEDED");
    expect(await h.sg.services.prisma.paymentNotification.count({ where: { paymentId: r.payment.id } })).toBe(1);
    await waitFor(() => paidCalls(orderId) === 1, "order told");

    // Refund through WeChat Pay's refund API.
    const refund = await h.gql(
      `mutation($id: ID!) { adminRefundPayment(paymentId: $id, amount: "6.66", reason: "破损") { code refund { status } payment { refundedAmount } } }`,
      { id: r.payment.id },
      ADMIN,
    );
    expect(refund.data.adminRefundPayment).toEqual({ code: "OK", refund: { status: "SUCCEEDED" }, payment: { refundedAmount: "6.66" } });
    expect(fp.trades.get(r.payment.checkoutRef)!.refunds).toEqual([{ no: expect.any(String), amount: "666" }]);
  });

  it("a refund WeChat Pay is still processing is polled by a job until it succeeds", async () => {
    const orderId = h.order("X3", "20.00");
    const r = await create(orderId, "WECHAT_PAY", "X3");
    fp.trades.get(r.payment.checkoutRef)!.status = "PAID";
    const n = fp.wechatNotification(r.payment.checkoutRef, 2000);
    expect((await post("/callbacks/wechat", n.body, n.headers)).status).toBe(200);
    fp.settings.wxRefundAnswer = "PROCESSING";
    const refund = (
      await h.gql(
        `mutation($id: ID!) { adminRefundPayment(paymentId: $id, amount: "20.00", reason: "退货") { code refund { id status } } }`,
        { id: r.payment.id },
        ADMIN,
      )
    ).data.adminRefundPayment;
    fp.settings.wxRefundAnswer = "SUCCESS";
    expect(refund).toMatchObject({ code: "OK", refund: { status: "PENDING" } });
    expect((await row(r.payment.id)).status).toBe("SUCCEEDED");
    fp.refundStatus.set(refund.refund.id, "SUCCESS"); // the provider finishes
    await waitFor(async () => (await row(r.payment.id)).status === "REFUNDED", "refund settled", 30_000);
    expect((await h.sg.services.prisma.refund.findUniqueOrThrow({ where: { id: refund.refund.id } })).status).toBe("SUCCEEDED");
    await waitFor(() => h.state.markRefundedCalls.some((c) => c.refundId === refund.refund.id), "order books the refund");
  });

  it("a refund the provider refuses leaves the amount refundable", async () => {
    const orderId = h.order("A5", "5.00");
    const r = await create(orderId, "ALIPAY", "A5");
    fp.trades.set(r.payment.checkoutRef, { status: "PAID", amount: "5.00", refunds: [] });
    expect((await post("/callbacks/alipay", fp.alipayNotification(r.payment.checkoutRef, "5.00"))).body).toBe("success");
    fp.trades.delete(r.payment.checkoutRef); // Alipay no longer knows the trade: it refuses the refund
    const res = (
      await h.gql(
        `mutation($id: ID!) { adminRefundPayment(paymentId: $id, amount: "5.00", reason: "x") { code refund { status } payment { status refundedAmount } } }`,
        { id: r.payment.id },
        ADMIN,
      )
    ).data.adminRefundPayment;
    expect(res).toEqual({ code: "CHANNEL_ERROR", refund: { status: "FAILED" }, payment: { status: "SUCCEEDED", refundedAmount: "0.00" } });
  });

  it("a bad signature, a tampered body or an unknown platform serial is refused (4xx) and changes nothing", async () => {
    const orderId = h.order("X2", "10.00");
    const r = await create(orderId, "WECHAT_PAY", "X2");
    const n = fp.wechatNotification(r.payment.checkoutRef, 1000);
    expect((await post("/callbacks/wechat", n.body.replace('"id":"', '"id":"x'), n.headers)).status).toBe(400);
    expect((await post("/callbacks/wechat", n.body, { ...n.headers, "wechatpay-signature": "AAAA" })).status).toBe(400);
    expect((await post("/callbacks/wechat", n.body, { ...n.headers, "wechatpay-serial": "SOMEONE-ELSE" })).status).toBe(400);
    expect((await row(r.payment.id)).status).toBe("PENDING");
    expect(await h.sg.services.prisma.paymentNotification.count({ where: { paymentId: r.payment.id } })).toBe(0);
  });
});

describe("automatic refunds", () => {
  it("a second channel paying an already paid order is refunded, the order is told only once", async () => {
    const orderId = h.order("D1", "12.30");
    const sandbox = await create(orderId, "SANDBOX", "D1");
    const wechat = await create(orderId, "WECHAT_PAY", "D1");
    expect(sandbox.payment.id).not.toBe(wechat.payment.id);
    expect(
      (await h.gql(`mutation($r: String!) { sandboxCompletePayment(checkoutRef: $r) }`, { r: sandbox.payment.checkoutRef }, buyer("D1")))
        .data.sandboxCompletePayment,
    ).toBe(true);
    fp.trades.get(wechat.payment.checkoutRef)!.status = "PAID";
    const n = fp.wechatNotification(wechat.payment.checkoutRef, 1230);
    expect((await post("/callbacks/wechat", n.body, n.headers)).status).toBe(200);
    expect((await row(sandbox.payment.id)).status).toBe("SUCCEEDED");
    expect((await row(wechat.payment.id)).status).toBe("REFUNDED");
    expect(fp.trades.get(wechat.payment.checkoutRef)!.refunds.map((x) => x.amount)).toEqual(["1230"]);
    await waitFor(() => paidCalls(orderId) === 1, "order told");
    await waitFor(notifyIdle, "notify idle");
    expect(h.state.markPaidCalls.filter((c) => c.orderId === orderId)).toEqual([
      { orderId, paymentId: sandbox.payment.id, channel: "SANDBOX" },
    ]);
  });

  it("an order that was cancelled meanwhile (INVALID_STATE) gets its money back", async () => {
    const orderId = h.order("D2", "7.00");
    const r = await create(orderId, "SANDBOX", "D2");
    h.state.orders.get(orderId)!.status = "CANCELLED";
    await h.gql(`mutation($r: String!) { sandboxCompletePayment(checkoutRef: $r) }`, { r: r.payment.checkoutRef }, buyer("D2"));
    await waitFor(async () => (await row(r.payment.id)).status === "REFUNDED", "refunded");
    expect((await h.sg.services.sandbox.trade(r.payment.checkoutRef))!.refundedAmount.toString()).toBe("7");
    expect(h.state.markRefundedCalls.filter((c) => c.orderId === orderId)).toEqual([]);
  });
});

describe("federation and live events", () => {
  it("the payment's live event payload loads for the gateway and its buyer only", async () => {
    const orderId = h.order("E1", "3.00");
    const r = await create(orderId, "SANDBOX", "E1");
    await h.gql(`mutation($r: String!) { sandboxCompletePayment(checkoutRef: $r) }`, { r: r.payment.checkoutRef }, buyer("E1"));
    const ev = await h.sg.services.prisma.paymentEvent.findFirstOrThrow({ where: { paymentId: r.payment.id } });
    const Q = `query($p: ID!, $e: ID!) { paymentStatusChangedEvent(paymentId: $p, eventId: $e) { type status payment { id status } } }`;
    const asGateway = await h.gql(Q, { p: r.payment.id, e: ev.id }, { kind: "member", id: "E1", service: "gateway" });
    expect(asGateway.data.paymentStatusChangedEvent).toEqual({
      type: "SUCCEEDED",
      status: "SUCCEEDED",
      payment: { id: r.payment.id, status: "SUCCEEDED" },
    });
    expect(
      (await h.gql(Q, { p: r.payment.id, e: ev.id }, { kind: "member", id: "E2", service: "gateway" })).data.paymentStatusChangedEvent,
    ).toBeNull();
    expect((await h.gql(Q, { p: r.payment.id, e: ev.id }, buyer("E1"))).errors![0]!.extensions!.code).toBe("FORBIDDEN");
  });

  it("_entities resolves a Payment for its buyer (and operators), not for others", async () => {
    const p = await h.sg.services.prisma.payment.findFirstOrThrow({ where: { buyerId: "E1" } });
    const Q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id status amount currency order { id } } } }`;
    const mine = await h.gql(Q, { r: [{ __typename: "Payment", id: p.id }] }, buyer("E1"));
    expect(mine.data._entities).toEqual([{ id: p.id, status: "SUCCEEDED", amount: "3.00", currency: "CNY", order: { id: p.orderId } }]);
    expect((await h.gql(Q, { r: [{ __typename: "Payment", id: p.id }] }, buyer("E2"))).data._entities).toEqual([null]);
    expect((await h.gql(Q, { r: [{ __typename: "Payment", id: p.id }] }, ADMIN)).data._entities[0].id).toBe(p.id);
  });

  it("the sweep re-enqueues an order notification a crash lost", async () => {
    const orderId = h.order("S1", "4.00");
    const r = await create(orderId, "SANDBOX", "S1");
    await h.gql(`mutation($r: String!) { sandboxCompletePayment(checkoutRef: $r) }`, { r: r.payment.checkoutRef }, buyer("S1"));
    await waitFor(async () => !!(await row(r.payment.id)).orderNotifiedAt, "first notification");
    // Simulate: committed as paid, but the notify job was lost before it ran.
    h.state.orders.get(orderId)!.status = "PENDING_PAYMENT";
    await h.sg.services.prisma.payment.update({
      where: { id: r.payment.id },
      data: { orderNotifiedAt: null, paidAt: new Date(Date.now() - 120_000) },
    });
    await h.sg.services.queues.notify.remove(`notify-paid-${r.payment.id}`);
    expect(await h.sg.services.payments.sweep()).toMatchObject({ notify: 1 });
    await waitFor(async () => !!(await row(r.payment.id)).orderNotifiedAt, "re-notified");
    expect(h.state.orders.get(orderId)!.status).toBe("PAID");
  });

  it("the CSV route refuses a forged identity header", async () => {
    const res = await fetch(`http://127.0.0.1:${h.sg.port}/exports/transactions.csv?from=2026-11-01&to=2026-11-30`, {
      headers: { "x-mg-identity": signIdentity("another-secret-0123456789", ADMIN) },
    });
    expect(res.status).toBe(401);
    expect(SECRET).toBeTruthy();
  });
});
