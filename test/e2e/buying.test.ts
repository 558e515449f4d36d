/**
 * The buying path through the REAL stack (every subgraph, the workers and the gateway as
 * processes, seeded demo data), driven with the contract operations over HTTP and graphql-ws:
 * register → search → add to cart → place order → createPayment(SANDBOX) → sandboxCompletePayment →
 * the subscription receives PAID → cancelling a second unpaid order gives its stock back; paying a
 * paid or a cancelled order is refused; a third order is paid from the real member wallet and
 * refunded to it through an approved after-sales request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventChannel } from "@mallgraph/platform/events";
import { Decimal } from "@mallgraph/platform/money";
import { createRedis } from "@mallgraph/platform/redis";
import { waitFor } from "@mallgraph/platform/testing";
import { operation, wsClient, type GraphQLHttpClient } from "./client.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

describe("buying path through the gateway", () => {
  let e: E2E;
  let api: GraphQLHttpClient;

  beforeAll(async () => {
    e = await startE2E();
    api = e.api;
  }, 300000);
  afterAll(async () => {
    await e?.stop();
  });

  it("cart → order → sandbox payment → PAID pushed; cancel releases stock", async () => {
    const admin = await adminToken(e);
    const { phone, token } = await registerMember(e, admin);
    // Registration issues the NEW_USER coupons (member worker → promotion couponIssueNewUser, seeded 新人券).
    const newUser = await waitFor(async () => {
      const mine = (await api.ok("MyCoupons", {}, token)).myCoupons as Array<{
        status: string;
        template: { type: string; amount: string };
      }>;
      const n = mine.filter((c) => c.template.type === "NEW_USER");
      return n.length ? n : undefined;
    }, "the NEW_USER coupons issued at registration");
    expect(newUser.length).toBe(1);
    expect(newUser[0]).toMatchObject({ status: "UNUSED", template: { type: "NEW_USER" } });
    const addr = (
      await api.ok("AddAddress", { input: { receiver: "Li", phone, region: "Shanghai", detail: "1 Road", isDefault: true } }, token)
    ).addAddress;
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    // Product pages (anonymous or member) may come from the gateway's response cache, stock up to 2 s old
    // (decision 0023): a change shows once that answer expires.
    const stockOf = async (skuId: string) =>
      (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.id === skuId).stock.available as number;
    const stockIs = (skuId: string, n: number) => waitFor(async () => (await stockOf(skuId)) === n, `stock ${n}`);
    const sku = (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.stock.available > 3);
    const start = sku.stock.available as number;

    expect((await api.ok("AddToCart", { skuId: sku.id, quantity: 2 }, token)).addToCart.code).toBe("OK");
    const cart = (await api.ok("Cart", {}, token)).cart;
    expect(cart.items[0]).toMatchObject({
      sku: { id: sku.id, title: sku.title, price: sku.price, stock: { available: start } },
      quantity: 2,
      checked: true,
    });
    const placed = (await api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "e2e-1" } }, token))
      .placeOrder;
    expect(placed.code).toBe("OK");
    expect(placed.order.payable).toBe(cart.totals.payable);
    await stockIs(sku.id, start - 2);

    const ws = wsClient(e.stack.gatewayUrl, token);
    const events: any[] = [];
    ws.subscribe(
      {
        query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status order { id orderNo status items { sku { title } } } } }`,
        variables: { id: placed.order.id },
      },
      { next: (r) => void events.push(r), error: () => undefined, complete: () => undefined },
    );
    // the contract's MessageReceived: the member's inbox messages (order paid, ...)
    const messages: any[] = [];
    ws.subscribe(
      { query: operation("MessageReceived").body },
      { next: (r) => void messages.push(r), error: () => undefined, complete: () => undefined },
    );
    // pay only once the gateway listens: it subscribes the event channel in Redis on demand
    const probe = createRedis(e.cfg.REDIS_URL);
    try {
      for (const field of ["orderStatusChanged", "messageReceived"]) {
        const channel = eventChannel(e.cfg.REDIS_PREFIX, field);
        await waitFor(
          async () => ((await probe.pubsub("NUMSUB", channel)) as [string, number])[1] >= 1,
          `the gateway's ${field} subscription`,
        );
      }
    } finally {
      probe.disconnect();
    }
    const pay = (await api.ok("CreatePayment", { orderId: placed.order.id, channel: "SANDBOX" }, token)).createPayment;
    expect(pay.code).toBe("OK");
    expect((await api.ok("SandboxCompletePayment", { checkoutRef: pay.payment.checkoutRef }, token)).sandboxCompletePayment).toBe(true);
    await waitFor(async () => events.length > 0, "the PAID event");
    expect(events[0].data.orderStatusChanged).toEqual({
      status: "PAID",
      order: { id: placed.order.id, orderNo: placed.order.orderNo, status: "PAID", items: [{ sku: { title: sku.title } }] },
    });
    // order outbox → relay → member's inbox worker → messageReceived through the gateway
    await waitFor(async () => messages.length > 0, "the ORDER_PAID message on messageReceived");
    expect(messages[0].errors).toBeUndefined();
    expect(messages[0].data.messageReceived).toMatchObject({ kind: "ORDER_PAID", title: "Order paid" });
    await ws.dispose();
    const inbox = (await api.ok("MyMessages", {}, token)).myMessages;
    expect(inbox.unreadCount).toBe(1);
    expect(inbox.items).toEqual([
      {
        id: messages[0].data.messageReceived.id,
        kind: "ORDER_PAID",
        title: "Order paid",
        body: `Order ${placed.order.orderNo} is paid (${placed.order.payable} ${placed.order.currency}). Thank you!`,
        read: false,
        createdAt: expect.any(String),
      },
    ]);
    expect((await api.ok("MarkMessagesRead", { ids: [] }, token)).markMessagesRead).toEqual({ unreadCount: 0 });
    // the contract's Order query reads it paid, with the SKU title resolved from catalog
    expect((await api.ok("Order", { id: placed.order.id }, token)).order).toMatchObject({
      id: placed.order.id,
      status: "PAID",
      items: [{ sku: { id: sku.id, title: sku.title }, quantity: 2, price: sku.price }],
    });
    // the same idempotency key answers the same order (no second reservation)
    const replay = (await api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "e2e-1" } }, token))
      .placeOrder;
    expect(replay).toMatchObject({ code: "OK", order: { id: placed.order.id, status: "PAID" } });
    await stockIs(sku.id, start - 2);
    // paying a paid order again is refused, on any channel
    for (const channel of ["SANDBOX", "WALLET"]) {
      expect((await api.ok("CreatePayment", { orderId: placed.order.id, channel }, token)).createPayment.code).toBe("ALREADY_PAID");
    }

    const second = (await api.ok("PlaceOrder", { input: { items: [{ skuId: sku.id, quantity: 1 }], addressId: addr.id } }, token))
      .placeOrder;
    await stockIs(sku.id, start - 3);
    expect((await api.ok("CancelOrder", { id: second.order.id }, token)).cancelOrder).toEqual({
      code: "OK",
      order: { id: second.order.id, status: "CANCELLED" },
    });
    await stockIs(sku.id, start - 2);
    // paying a cancelled order is refused and creates nothing
    expect((await api.ok("CreatePayment", { orderId: second.order.id, channel: "SANDBOX" }, token)).createPayment).toEqual({
      code: "ORDER_NOT_PAYABLE",
      payment: null,
    });

    // WALLET against the real member wallet: refused while the balance is short (nothing frozen),
    // then freeze → capture after a top-up; the buyer's balance drops by exactly the payable amount.
    const third = (await api.ok("PlaceOrder", { input: { items: [{ skuId: sku.id, quantity: 1 }], addressId: addr.id } }, token))
      .placeOrder;
    expect(third.code).toBe("OK");
    const wallet = async () => {
      const w = (await api.ok("Me", {}, token)).me.wallets.find((x: any) => x.currency === third.order.currency);
      return { balance: new Decimal(w?.balance ?? 0), frozen: new Decimal(w?.frozen ?? 0) };
    };
    const empty = await wallet();
    expect(empty.balance.lessThan(third.order.payable)).toBe(true);
    expect((await api.ok("CreatePayment", { orderId: third.order.id, channel: "WALLET" }, token)).createPayment).toEqual({
      code: "INSUFFICIENT_BALANCE",
      payment: null,
    });
    expect((await wallet()).frozen.toFixed(2)).toBe("0.00");
    const topUp = new Decimal(third.order.payable).plus("10.00").toFixed(2);
    // A top-up is a payment: paid in the sandbox (its notification delivered three times), credited once.
    const top = (
      await api.ok(
        "TopUpWallet",
        { currency: third.order.currency, amount: topUp, channel: "SANDBOX", idempotencyKey: "e2e-top-up" },
        token,
      )
    ).topUpWallet;
    expect(top).toMatchObject({ code: "OK", payment: { status: "PENDING", amount: topUp, currency: third.order.currency } });
    expect((await wallet()).balance.toFixed(2)).toBe(empty.balance.toFixed(2));
    for (let i = 0; i < 3; i++) await api.ok("SandboxCompletePayment", { checkoutRef: top.payment.checkoutRef }, token);
    await waitFor(async () => (await wallet()).balance.greaterThan(empty.balance), "the top-up credited");
    const before = await wallet();
    expect(before.balance.minus(empty.balance).toFixed(2)).toBe(topUp);
    const ledger = (await api.ok("MyWalletLedger", { currency: third.order.currency }, token)).myWalletLedger.items;
    expect(
      ledger.filter((e: { kind: string }) => e.kind === "TOPUP").map((e: { reference: string; amount: string }) => [e.reference, e.amount]),
    ).toEqual([[`topup:${top.payment.id}`, topUp]]);
    const walletPay = (await api.ok("CreatePayment", { orderId: third.order.id, channel: "WALLET" }, token)).createPayment;
    expect(walletPay).toMatchObject({
      code: "OK",
      payment: { status: "SUCCEEDED", amount: third.order.payable, currency: third.order.currency },
    });
    const after = await wallet();
    expect(before.balance.minus(after.balance).toFixed(2)).toBe(new Decimal(third.order.payable).toFixed(2));
    expect(after.frozen.toFixed(2)).toBe("0.00");
    await waitFor(async () => (await api.ok("Order", { id: third.order.id }, token)).order.status === "PAID", "the wallet-paid order");
    await stockIs(sku.id, start - 3);

    // after-sales across order and payment: request → operator approves → REFUNDING → payment
    // refunds to the wallet → REFUNDED; the buyer has exactly the money back
    const req = await api.raw(
      `mutation($o: ID!) { requestAfterSale(orderId: $o, type: REFUND, reason: "changed my mind") { code afterSale { id status } } }`,
      { o: third.order.id },
      { token },
    );
    expect(req.data?.requestAfterSale).toMatchObject({ code: "OK", afterSale: { status: "REQUESTED" } });
    const review = await api.raw(
      `mutation($id: ID!) { adminReviewAfterSale(id: $id, approve: true, note: "ok") { code afterSale { status } } }`,
      { id: req.data.requestAfterSale.afterSale.id },
      { token: admin },
    );
    expect(review.data).toEqual({ adminReviewAfterSale: { code: "OK", afterSale: { status: "APPROVED" } } });
    await waitFor(async () => (await api.ok("Order", { id: third.order.id }, token)).order.status === "REFUNDED", "the refunded order");
    const refunded = await wallet();
    expect([refunded.balance.toFixed(2), refunded.frozen.toFixed(2)]).toEqual([before.balance.toFixed(2), "0.00"]);
  }, 120_000);
});
