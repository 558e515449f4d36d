import { eventChannel, type LiveEvent } from "@mallgraph/platform/events";
import { publishLiveEventJob, type LiveEventJobData } from "@mallgraph/platform/outbox";
import { createRedis } from "@mallgraph/platform/redis";
import { outboxAuditEntries } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { orderNoGenerator } from "../src/services/orderNo.ts";
import { startWorkers } from "../src/worker.ts";
import { startOrderEnv, PLACE, CANCEL, MARK_PAID, waitFor, type OrderEnv } from "./support/env.ts";
import { admin, gateway, internal } from "./support/fakes.ts";

describe("order lifecycle", () => {
  let env: OrderEnv;
  let n = 0;
  let buyer: string;
  let addressId: string;
  const START = 50;
  const newOrder = async (quantity = 2) => {
    const r = await env.call(PLACE, { input: { addressId, items: [{ skuId: "tea", quantity }] } }, buyer);
    expect(r.data.placeOrder.code).toBe("OK");
    return r.data.placeOrder.order as { id: string; orderNo: string; payable: string };
  };
  const status = async (id: string) => (await env.order.services.prisma.order.findUniqueOrThrow({ where: { id } })).status;
  const pay = (orderId: string, paymentId = `pay-${orderId}`) =>
    env.call(MARK_PAID, { o: orderId, p: paymentId, c: "SANDBOX" }, internal("payment"));

  beforeAll(async () => {
    env = await startOrderEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(() => {
    buyer = `l${++n}`;
    addressId = env.memberSg.addAddress(buyer).id;
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: START });
  });

  it("buyer cancel releases the stock; a second cancel and others' cancels are refused", async () => {
    const o = await newOrder(3);
    expect(env.catalog.stock("tea")).toEqual({ available: START - 3, reserved: 3, sold: 0 });
    expect((await env.call(CANCEL, { id: o.id }, "intruder")).data.cancelOrder).toEqual({ code: "NOT_FOUND", order: null });
    expect((await env.call(CANCEL, { id: o.id }, buyer)).data.cancelOrder).toEqual({
      code: "OK",
      order: { id: o.id, status: "CANCELLED" },
    });
    expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
    expect((await env.call(CANCEL, { id: o.id }, buyer)).data.cancelOrder).toEqual({
      code: "INVALID_STATE",
      order: { id: o.id, status: "CANCELLED" },
    });
    expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
    // paying a cancelled order is refused: payment then refunds
    expect((await pay(o.id)).data.orderMarkPaid).toEqual({ code: "INVALID_STATE", status: "CANCELLED" });
  });

  it("20 concurrent cancels: one transition, stock released once", async () => {
    const o = await newOrder(4);
    const results = await Promise.all(Array.from({ length: 20 }, () => env.call(CANCEL, { id: o.id }, buyer)));
    expect(results.filter((r) => r.data.cancelOrder.code === "OK")).toHaveLength(1);
    expect(results.filter((r) => r.data.cancelOrder.code === "INVALID_STATE")).toHaveLength(19);
    expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
    expect(await env.order.services.prisma.orderStatusChange.count({ where: { orderId: o.id, to: "CANCELLED" } })).toBe(1);
  });

  it("orderMarkPaid: 50 concurrent calls → one transition, one event, stock confirmed once", async () => {
    const o = await newOrder(2);
    const results = await Promise.all(Array.from({ length: 50 }, () => pay(o.id, "pay-1")));
    expect(results.every((r) => r.data?.orderMarkPaid.code === "OK" && r.data.orderMarkPaid.status === "PAID")).toBe(true);
    const p = env.order.services.prisma;
    expect(await p.orderStatusChange.count({ where: { orderId: o.id, to: "PAID" } })).toBe(1);
    const paidChange = await p.orderStatusChange.findFirstOrThrow({ where: { orderId: o.id, to: "PAID" } });
    expect(await p.outbox.count({ where: { queue: "order-events", id: `event.${paidChange.id}` } })).toBe(1);
    // one ORDER_PAID member message in the job outbox, relayed after the commit
    const paidMsg = await waitFor(
      () => p.outbox.findUnique({ where: { id: `msg.order-paid.${o.id}` } }).then((r) => (r?.sentAt ? r : null)),
      "the relayed ORDER_PAID message",
    );
    expect(paidMsg).toMatchObject({
      queue: "member-messages",
      name: "deliver",
      data: { memberId: buyer, kind: "ORDER_PAID", params: { orderId: o.id, orderNo: o.orderNo, amount: o.payable, currency: "CNY" } },
    });
    expect(
      await p.outbox.count({ where: { id: { startsWith: "msg.order-paid." }, data: { path: ["params", "orderId"], equals: o.id } } }),
    ).toBe(1);
    expect(env.catalog.stock("tea")).toEqual({ available: START - 2, reserved: 0, sold: 2 });
    // another payment of the same order is refused (payment refunds it); buyer can no longer cancel
    expect((await pay(o.id, "pay-2")).data.orderMarkPaid).toEqual({ code: "INVALID_STATE", status: "PAID" });
    expect((await env.call(CANCEL, { id: o.id }, buyer)).data.cancelOrder.code).toBe("INVALID_STATE");
    expect(await status(o.id)).toBe("PAID");
    expect((await env.call(MARK_PAID, { o: o.id, p: "pay-1", c: "SANDBOX" }, buyer)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await pay("no-such-order")).data.orderMarkPaid).toEqual({ code: "NOT_FOUND", status: null });
  });

  it("cancel racing payment: exactly one wins and the stock matches it", async () => {
    for (let i = 0; i < 5; i++) {
      env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: START });
      const o = await newOrder(1);
      const [c, p] = await Promise.all([env.call(CANCEL, { id: o.id }, buyer), pay(o.id)]);
      const cancelled = c.data.cancelOrder.code === "OK";
      const paid = p.data.orderMarkPaid.code === "OK";
      expect(cancelled !== paid).toBe(true);
      expect(env.catalog.stock("tea")).toEqual(
        cancelled ? { available: START, reserved: 0, sold: 0 } : { available: START - 1, reserved: 0, sold: 1 },
      );
    }
  });

  it("publishes a live event after commit (the worker, from the outbox), and serves its payload to the buyer only", async () => {
    const stopWorker = await startWorkers(env.config, { databaseUrl: env.db.url });
    const sub = createRedis(env.config.REDIS_URL);
    const got: Array<{ ev: LiveEvent; committed: boolean }> = [];
    await sub.subscribe(eventChannel(env.config.REDIS_PREFIX, "orderStatusChanged"));
    sub.on("message", async (_ch, msg) => {
      const ev = JSON.parse(msg) as LiveEvent;
      const row = await env.order.services.prisma.orderStatusChange.findUnique({ where: { id: ev.eventId } });
      got.push({ ev, committed: !!row });
    });
    try {
      const o = await newOrder(1);
      await env.call(CANCEL, { id: o.id }, buyer);
      await waitFor(async () => got.filter((g) => g.ev.keys.orderId === o.id).length >= 2, "two live events");
      const mine = got.filter((g) => g.ev.keys.orderId === o.id);
      expect(mine.every((g) => g.committed)).toBe(true);
      expect(mine.every((g) => JSON.stringify(g.ev.audience) === JSON.stringify([buyer]))).toBe(true);
      const cancelEvent = mine[1]!.ev;
      const Q = `query($o: ID!, $e: ID!) { orderStatusChangedEvent(orderId: $o, eventId: $e) { eventId status previousStatus at order { id orderNo status items { sku { id } } } } }`;
      const r = await env.call(Q, { o: o.id, e: cancelEvent.eventId }, gateway(buyer));
      expect(r.data.orderStatusChangedEvent).toMatchObject({
        eventId: cancelEvent.eventId,
        status: "CANCELLED",
        previousStatus: "PENDING_PAYMENT",
        order: { id: o.id, orderNo: o.orderNo, status: "CANCELLED", items: [{ sku: { id: "tea" } }] },
      });
      expect((await env.call(Q, { o: o.id, e: cancelEvent.eventId }, gateway("intruder"))).data.orderStatusChangedEvent).toBeNull();
      expect((await env.call(Q, { o: "other-order", e: cancelEvent.eventId }, gateway(buyer))).data.orderStatusChangedEvent).toBeNull();
      expect((await env.call(Q, { o: o.id, e: cancelEvent.eventId }, buyer)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      // each event left the outbox once and was published once
      const rows = await env.order.services.prisma.outbox.findMany({ where: { id: { in: mine.map((g) => `event.${g.ev.eventId}`) } } });
      expect(rows.map((r) => [r.queue, r.sentAt !== null, r.attempts])).toEqual([
        ["order-events", true, 1],
        ["order-events", true, 1],
      ]);
      expect(new Set(mine.map((g) => g.ev.eventId)).size).toBe(2);
    } finally {
      sub.disconnect();
      await stopWorker();
    }
  });

  it("a status event whose relay was lost (a crash after the commit) is published once by the worker; a repeated job publishes nothing", async () => {
    const o = await newOrder(1);
    const p = env.order.services.prisma;
    const created = await p.orderStatusChange.findFirstOrThrow({ where: { orderId: o.id } });
    const key = `event.${created.id}`;
    // the process "died" between the commit and the relay: the row is pending, the event never went out
    await p.outbox.update({ where: { id: key }, data: { sentAt: null } });
    await env.order.services.jobQueues.queue("order-events")?.remove(key);
    const sub = createRedis(env.config.REDIS_URL);
    const got: LiveEvent[] = [];
    await sub.subscribe(eventChannel(env.config.REDIS_PREFIX, "orderStatusChanged"));
    sub.on("message", (_ch, msg) => got.push(JSON.parse(msg) as LiveEvent));
    const stopWorker = await startWorkers(env.config, { databaseUrl: env.db.url });
    try {
      await waitFor(() => got.some((e) => e.eventId === created.id), "the event published by the worker");
      const row = await p.outbox.findUniqueOrThrow({ where: { id: key } });
      expect(row.sentAt).not.toBeNull();
      // the same job again (a relay that repeated itself after BullMQ removed the completed job): nothing more
      expect(await publishLiveEventJob(env.order.services.redis, env.config.REDIS_PREFIX, row.data as unknown as LiveEventJobData)).toBe(
        false,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(got.filter((e) => e.eventId === created.id)).toHaveLength(1);
    } finally {
      sub.disconnect();
      await stopWorker();
    }
  });

  it("fulfilment: ship (operators only), tracking events, confirm receipt, purchaseVerified", async () => {
    const o = await newOrder(1);
    const SHIP = `mutation($o: ID!) { adminShipOrder(orderId: $o, carrier: "SF", trackingNo: "SF100") { code order { status shipment { carrier trackingNo } } } }`;
    expect((await env.call(SHIP, { o: o.id }, admin())).data.adminShipOrder.code).toBe("INVALID_STATE"); // not paid
    await pay(o.id);
    expect((await env.call(SHIP, { o: o.id }, buyer)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await env.call(SHIP, { o: o.id }, admin(["order:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await env.call(SHIP, { o: o.id }, admin())).data.adminShipOrder).toEqual({
      code: "OK",
      order: { status: "SHIPPED", shipment: { carrier: "SF", trackingNo: "SF100" } },
    });
    expect((await env.call(SHIP, { o: o.id }, admin())).data.adminShipOrder.code).toBe("INVALID_STATE");
    const ships = (await outboxAuditEntries(env.order.services.prisma, "adminShipOrder")).filter(
      (x) => (x.args as { orderId: string }).orderId === o.id,
    );
    // the audit trail (decision 0024): the shipment with the order before/after; the two refusals (INVALID_STATE) changed nothing, no entry
    expect(ships.map((x) => [x.outcome, x.actorId, x.changes.length > 0])).toEqual([[null, "op-1", true]]);
    const shipped = ships[0]!.changes as Array<{ entity: string; op: string; before: any; after: any }>;
    expect(shipped.find((c) => c.entity === "Order")).toMatchObject({
      op: "update",
      before: { status: "PAID", shippedAt: null },
      after: { status: "SHIPPED" },
    });
    expect(shipped.find((c) => c.entity === "Shipment")).toMatchObject({
      op: "create",
      before: null,
      after: { carrier: "SF", trackingNo: "SF100", orderId: o.id },
    });
    expect(shipped.find((c) => c.entity === "OrderStatusChange")).toMatchObject({ after: { from: "PAID", to: "SHIPPED", actor: "op-1" } });
    expect((await env.order.services.prisma.outbox.findUniqueOrThrow({ where: { id: `msg.order-shipped.${o.id}` } })).data).toEqual({
      memberId: buyer,
      kind: "ORDER_SHIPPED",
      params: { orderId: o.id, orderNo: o.orderNo, carrier: "SF", trackingNo: "SF100" },
    });
    const TRACK = `mutation($o: ID!, $e: TrackingEventInput!) { adminAddTrackingEvent(orderId: $o, event: $e) { code order { shipment { events { status location } } } } }`;
    await env.call(TRACK, { o: o.id, e: { status: "IN_TRANSIT", location: "Hangzhou", occurredAt: "2026-01-01T10:00:00Z" } }, admin());
    const t = await env.call(
      TRACK,
      { o: o.id, e: { status: "DELIVERED", location: "Shanghai", occurredAt: "2026-01-02T10:00:00Z" } },
      admin(),
    );
    expect(t.data.adminAddTrackingEvent.order.shipment.events).toEqual([
      { status: "IN_TRANSIT", location: "Hangzhou" },
      { status: "DELIVERED", location: "Shanghai" },
    ]);
    expect((await env.call(TRACK, { o: o.id, e: { status: "X", occurredAt: "not a date" } }, admin())).errors?.[0]?.extensions?.code).toBe(
      "BAD_USER_INPUT",
    );
    const VERIFY = `query($o: ID!, $m: ID!, $s: ID!) { purchaseVerified(orderId: $o, memberId: $m, skuId: $s) }`;
    expect((await env.call(VERIFY, { o: o.id, m: buyer, s: "tea" }, internal("catalog"))).data.purchaseVerified).toBe(false);
    const CONFIRM = `mutation($id: ID!) { confirmReceipt(id: $id) { code order { status completedAt } } }`;
    expect((await env.call(CONFIRM, { id: o.id }, "intruder")).data.confirmReceipt.code).toBe("NOT_FOUND");
    const c = await env.call(CONFIRM, { id: o.id }, buyer);
    expect(c.data.confirmReceipt.code).toBe("OK");
    expect(c.data.confirmReceipt.order.status).toBe("COMPLETED");
    expect((await env.call(CONFIRM, { id: o.id }, buyer)).data.confirmReceipt.code).toBe("INVALID_STATE");
    expect((await env.call(VERIFY, { o: o.id, m: buyer, s: "tea" }, internal("catalog"))).data.purchaseVerified).toBe(true);
    expect((await env.call(VERIFY, { o: o.id, m: "intruder", s: "tea" }, internal("catalog"))).data.purchaseVerified).toBe(false);
    expect((await env.call(VERIFY, { o: o.id, m: buyer, s: "cup" }, internal("catalog"))).data.purchaseVerified).toBe(false);
    const hist = await env.call(`query($id: ID!) { order(id: $id) { history { from to } } }`, { id: o.id }, buyer);
    expect(hist.data.order.history.map((h: any) => h.to)).toEqual(["PENDING_PAYMENT", "PAID", "SHIPPED", "COMPLETED"]);
  });

  it("after-sales: request → approve → REFUNDING → payment refunds → REFUNDED (idempotent)", async () => {
    const o = await newOrder(2);
    const REQ = `mutation($o: ID!, $t: AfterSaleType!) { requestAfterSale(orderId: $o, type: $t, reason: "broken") { code afterSale { id status amount currency type } } }`;
    expect((await env.call(REQ, { o: o.id, t: "REFUND" }, buyer)).data.requestAfterSale.code).toBe("INVALID_STATE"); // unpaid
    await pay(o.id);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => env.call(REQ, { o: o.id, t: "REFUND" }, buyer)));
    expect(concurrent.filter((r) => r.data.requestAfterSale.code === "OK")).toHaveLength(1);
    expect(concurrent.filter((r) => r.data.requestAfterSale.code === "ALREADY_REQUESTED")).toHaveLength(4);
    const req = concurrent.find((r) => r.data.requestAfterSale.code === "OK")!.data.requestAfterSale.afterSale;
    expect(req).toMatchObject({ status: "REQUESTED", amount: "25.00", currency: "CNY", type: "REFUND" });
    expect((await env.call(REQ, { o: o.id, t: "REFUND" }, "intruder")).data.requestAfterSale.code).toBe("NOT_FOUND");
    const REVIEW = `mutation($id: ID!, $a: Boolean!) { adminReviewAfterSale(id: $id, approve: $a, note: "ok") { code afterSale { status order { status } } } }`;
    expect((await env.call(REVIEW, { id: req.id, a: true }, buyer)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const approved = await env.call(REVIEW, { id: req.id, a: true }, admin());
    expect(approved.data.adminReviewAfterSale).toEqual({ code: "OK", afterSale: { status: "APPROVED", order: { status: "REFUNDING" } } });
    expect((await env.call(REVIEW, { id: req.id, a: false }, admin())).data.adminReviewAfterSale.code).toBe("INVALID_STATE");
    const reviews = (await outboxAuditEntries(env.order.services.prisma, "adminReviewAfterSale")).filter(
      (x) => (x.args as { id: string }).id === req.id,
    );
    expect(reviews.map((x) => x.outcome)).toEqual(["OK"]); // the refused second decision: no entry
    const decided = reviews[0]!.changes as Array<{ entity: string; before: any; after: any }>;
    expect(decided.find((c) => c.entity === "AfterSale")).toMatchObject({ before: { status: "REQUESTED" }, after: { status: "APPROVED" } });
    expect(decided.find((c) => c.entity === "Order")).toMatchObject({ before: { status: "PAID" }, after: { status: "REFUNDING" } });
    // one AFTER_SALE_DECIDED message: the refused second decision wrote none
    expect(
      (
        await env.order.services.prisma.outbox.findMany({
          where: { id: { startsWith: "msg.after-sale." }, data: { path: ["params", "afterSaleId"], equals: req.id } },
        })
      ).map((r) => r.data),
    ).toEqual([
      {
        memberId: buyer,
        kind: "AFTER_SALE_DECIDED",
        params: {
          orderId: o.id,
          afterSaleId: req.id,
          orderNo: o.orderNo,
          decision: "approved",
          amount: "25.00",
          currency: "CNY",
          note: "ok",
        },
      },
    ]);
    expect(env.payment.refunds).toContainEqual({ orderId: o.id, amount: "25.00", reason: "broken", reference: req.id });
    const REFUNDED = `mutation($o: ID!, $r: ID!, $a: String!) { orderMarkRefunded(orderId: $o, refundId: $r, amount: $a) { code status } }`;
    // member's account closure asks: the REFUNDING order is open
    const OPEN = `query($m: ID!) { memberOpenOrders(memberId: $m) }`;
    expect((await env.call(OPEN, { m: buyer }, internal("member"))).data.memberOpenOrders).toBe(1);
    expect((await env.call(OPEN, { m: buyer }, buyer)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const many = await Promise.all(
      Array.from({ length: 10 }, () => env.call(REFUNDED, { o: o.id, r: "rf-1", a: "25.00" }, internal("payment"))),
    );
    expect(many.every((r) => r.data.orderMarkRefunded.code === "OK" && r.data.orderMarkRefunded.status === "REFUNDED")).toBe(true);
    const p = env.order.services.prisma;
    expect(await p.orderStatusChange.count({ where: { orderId: o.id, to: "REFUNDED" } })).toBe(1);
    expect((await p.order.findUniqueOrThrow({ where: { id: o.id } })).refundedAmount.toString()).toBe("25");
    expect((await p.afterSale.findUniqueOrThrow({ where: { id: req.id } })).status).toBe("COMPLETED");
    expect((await env.call(REFUNDED, { o: o.id, r: "rf-2", a: "1.00" }, internal("payment"))).data.orderMarkRefunded.code).toBe(
      "INVALID_STATE",
    );
    // refunded and its after-sale completed: nothing open any more
    expect((await env.call(OPEN, { m: buyer }, internal("member"))).data.memberOpenOrders).toBe(0);
  });

  it("after-sales rejection leaves the order as it was; partial refunds accumulate; over-refund refused", async () => {
    const o = await newOrder(2);
    await pay(o.id);
    const REQ = `mutation($o: ID!) { requestAfterSale(orderId: $o, type: RETURN, reason: "wrong size") { code afterSale { id } } }`;
    const req = (await env.call(REQ, { o: o.id }, buyer)).data.requestAfterSale.afterSale;
    const rej = await env.call(
      `mutation($id: ID!) { adminReviewAfterSale(id: $id, approve: false) { code afterSale { status order { status } } } }`,
      { id: req.id },
      admin(),
    );
    expect(rej.data.adminReviewAfterSale).toEqual({ code: "OK", afterSale: { status: "REJECTED", order: { status: "PAID" } } });
    const REFUNDED = `mutation($o: ID!, $r: ID!, $a: String!) { orderMarkRefunded(orderId: $o, refundId: $r, amount: $a) { code status } }`;
    const call = (r: string, a: string) => env.call(REFUNDED, { o: o.id, r, a }, internal("payment"));
    expect((await call("p1", "10.00")).data.orderMarkRefunded).toEqual({ code: "OK", status: "PAID" });
    expect((await call("p2", "15.01")).data.orderMarkRefunded).toEqual({ code: "INVALID_AMOUNT", status: "PAID" });
    expect((await call("p2", "1.001")).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await call("p2", "15.00")).data.orderMarkRefunded).toEqual({ code: "OK", status: "REFUNDED" });
    const hist = await env.order.services.prisma.orderStatusChange.findMany({ where: { orderId: o.id }, orderBy: { createdAt: "asc" } });
    expect(hist.map((h) => h.to)).toEqual(["PENDING_PAYMENT", "PAID", "REFUNDING", "REFUNDED"]);
  });

  it("after-sales per line: each refund is exactly those units' share of what the line cost; partial refunds add up to the payable, never more", async () => {
    env.catalog.put({ id: "cup", title: "Cup", price: "3.33", available: START });
    const day = 24 * 3600_000;
    const promo = env.promotion.services;
    const camp = await promo.campaigns.create(
      {
        name: "满40减7",
        currency: "CNY",
        tiers: [{ threshold: "40", amount: "7" }],
        startsAt: new Date(Date.now() - day).toISOString(),
        endsAt: new Date(Date.now() + day).toISOString(),
      },
      null,
    );
    let orderId: string;
    try {
      const placed = await env.call(
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { id payable items { skuId payable } } } }`,
        {
          input: {
            addressId,
            items: [
              { skuId: "tea", quantity: 3 },
              { skuId: "cup", quantity: 1 },
            ],
          },
        },
        buyer,
      );
      // 37.50 + 3.33 = 40.83 − 7.00: tea 37.50 − 6.43 = 31.07, cup 3.33 − 0.57 = 2.76 (largest remainder)
      expect(placed.data.placeOrder.order.payable).toBe("33.83");
      expect(Object.fromEntries(placed.data.placeOrder.order.items.map((i: any) => [i.skuId, i.payable]))).toEqual({
        tea: "31.07",
        cup: "2.76",
      });
      orderId = placed.data.placeOrder.order.id;
    } finally {
      await promo.campaigns.end(camp.id);
    }
    await pay(orderId);
    const REQ = `mutation($o: ID!, $lines: [AfterSaleLineInput!]) { requestAfterSale(orderId: $o, type: REFUND, reason: "part", lines: $lines) { code message afterSale { id amount status lines { skuId quantity amount } } } }`;
    const REVIEW = `mutation($id: ID!, $a: Boolean!) { adminReviewAfterSale(id: $id, approve: $a) { code afterSale { status order { status } } } }`;
    const REFUNDED = `mutation($o: ID!, $r: ID!, $a: String!, $ref: String) { orderMarkRefunded(orderId: $o, refundId: $r, amount: $a, reference: $ref) { code status } }`;
    const request = async (lines: unknown) => (await env.call(REQ, { o: orderId, lines }, buyer)).data.requestAfterSale;
    // one tea of three: ⌊31.07 / 3⌋ = 10.35
    const first = await request([{ skuId: "tea", quantity: 1 }]);
    expect(first).toMatchObject({
      code: "OK",
      afterSale: { amount: "10.35", status: "REQUESTED", lines: [{ skuId: "tea", quantity: 1, amount: "10.35" }] },
    });
    expect((await request([{ skuId: "cup", quantity: 1 }])).code).toBe("ALREADY_REQUESTED");
    // approved: the order stays PAID (not every unit is refunded); payment refunds the request's amount
    expect((await env.call(REVIEW, { id: first.afterSale.id, a: true }, admin())).data.adminReviewAfterSale).toEqual({
      code: "OK",
      afterSale: { status: "APPROVED", order: { status: "PAID" } },
    });
    await waitFor(async () => env.payment.refunds.find((r) => r.reference === first.afterSale.id), "the refund asked of payment");
    expect(env.payment.refunds.find((r) => r.reference === first.afterSale.id)).toMatchObject({ orderId, amount: "10.35" });
    expect(
      (await env.call(REFUNDED, { o: orderId, r: "rf-line-1", a: "10.35", ref: `order:${first.afterSale.id}` }, internal("payment"))).data
        .orderMarkRefunded,
    ).toEqual({ code: "OK", status: "PAID" });
    expect((await env.order.services.prisma.afterSale.findUniqueOrThrow({ where: { id: first.afterSale.id } })).status).toBe("COMPLETED");
    // bad lines refuse and write nothing
    expect((await request([{ skuId: "tea", quantity: 3 }])).code).toBe("BAD_QUANTITY");
    expect((await request([{ skuId: "milk", quantity: 1 }])).code).toBe("NOT_FOUND");
    expect((await request([{ skuId: "tea", quantity: 0 }])).code).toBe("NOTHING_TO_REFUND");
    expect((await request([{ skuId: "tea", quantity: -1 }])).code).toBe("BAD_QUANTITY");
    // a rejected request gives its units back
    const second = await request([
      { skuId: "tea", quantity: 1 },
      { skuId: "cup", quantity: 1 },
    ]);
    expect(second.afterSale.lines).toEqual([
      { skuId: "cup", quantity: 1, amount: "2.76" },
      { skuId: "tea", quantity: 1, amount: "10.36" },
    ]); // ⌊31.07 × 2/3⌋ − 10.35
    expect((await env.call(REVIEW, { id: second.afterSale.id, a: false }, admin())).data.adminReviewAfterSale.afterSale.status).toBe(
      "REJECTED",
    );
    // everything left: 2 teas (31.07 − 10.35 = 20.72) and the cup (2.76) → REFUNDING → REFUNDED, exactly the payable in total
    const rest = await request(null);
    expect(rest.afterSale).toMatchObject({
      amount: "23.48",
      lines: [
        { skuId: "cup", quantity: 1, amount: "2.76" },
        { skuId: "tea", quantity: 2, amount: "20.72" },
      ],
    });
    expect((await env.call(REVIEW, { id: rest.afterSale.id, a: true }, admin())).data.adminReviewAfterSale.afterSale.order.status).toBe(
      "REFUNDING",
    );
    expect(
      (await env.call(REFUNDED, { o: orderId, r: "rf-line-2", a: "23.48", ref: `order:${rest.afterSale.id}` }, internal("payment"))).data
        .orderMarkRefunded,
    ).toEqual({ code: "OK", status: "REFUNDED" });
    const o = await env.order.services.prisma.order.findUniqueOrThrow({ where: { id: orderId }, include: { items: true } });
    expect(o.refundedAmount.toFixed(2)).toBe("33.83");
    expect(o.items.map((i) => [i.skuId, i.afterSaleQuantity, i.afterSaleAmount.toFixed(2)]).sort()).toEqual([
      ["cup", 1, "2.76"],
      ["tea", 3, "31.07"],
    ]);
    expect((await env.order.services.prisma.afterSale.findUniqueOrThrow({ where: { id: rest.afterSale.id } })).status).toBe("COMPLETED");
    expect((await request(null)).code).toBe("INVALID_STATE");
  });

  it("a line refunded unit by unit returns exactly its payable (largest remainder of the cumulative shares)", async () => {
    const { lineShare } = await import("../src/services/after-sales.ts");
    for (const [payable, quantity] of [
      ["31.07", 3],
      ["0.01", 3],
      ["100.00", 7],
      ["9.99", 4],
    ] as const) {
      let k = 0;
      let sum = "0";
      const parts: string[] = [];
      for (let n = 0; n < quantity; n++) {
        const share = lineShare({ payable, quantity, afterSaleQuantity: k, afterSaleAmount: sum }, 1, "CNY");
        parts.push(share.toFixed(2));
        k += 1;
        sum = share.plus(sum).toFixed(2);
      }
      expect(sum, `${payable} × ${quantity}`).toBe(payable);
      expect(parts.every((p) => Number(p) >= 0)).toBe(true);
    }
  });

  it("adminOrders (and order(id)) serve every buyer's orders to operators with order:read only", async () => {
    const o = await newOrder(1);
    const Q = `query($b: ID) { adminOrders(buyerId: $b, first: 5) { nodes { id buyerId } pageInfo { hasNextPage } } }`;
    expect((await env.call(Q, { b: buyer }, buyer)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await env.call(Q, { b: buyer }, admin(["catalog:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await env.call(Q, { b: buyer }, admin(["order:read"]))).data.adminOrders).toEqual({
      nodes: [{ id: o.id, buyerId: buyer }],
      pageInfo: { hasNextPage: false },
    });
    // order(id): operators with order:read see any order, others are refused
    const ONE = `query($id: ID!) { order(id: $id) { id buyerId } }`;
    expect((await env.call(ONE, { id: o.id }, admin(["order:read"]))).data.order).toEqual({ id: o.id, buyerId: buyer });
    expect((await env.call(ONE, { id: "nope" }, admin(["order:read"]))).data.order).toBeNull();
    expect((await env.call(ONE, { id: o.id }, admin(["catalog:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await env.call(ONE, { id: o.id }, buyer)).data.order).toEqual({ id: o.id, buyerId: buyer });
    expect((await env.call(ONE, { id: o.id }, "intruder")).data.order).toBeNull();
  });

  it("order numbers are unique under 1000 parallel generations and time-ordered", async () => {
    const gen = env.order.services.nextOrderNo;
    const nos = await Promise.all(Array.from({ length: 1000 }, () => gen()));
    expect(new Set(nos).size).toBe(1000);
    expect(nos.every((x) => /^\d{20}$/.test(x))).toBe(true);
    const earlier = await gen(new Date("2026-01-01T00:00:00Z"));
    const later = await gen(new Date("2026-01-01T00:00:01Z"));
    expect(earlier < later).toBe(true);
    expect(earlier.startsWith("20260101000000")).toBe(true);
  });

  it("order numbers stay unique across instances: 3 generators on their own Redis connections, one second", async () => {
    const conns = [0, 1, 2].map(() => createRedis(env.config.REDIS_URL));
    try {
      const gens = conns.map((c) => orderNoGenerator(c, env.config.REDIS_PREFIX));
      const at = new Date("2026-02-02T10:00:00Z"); // every instance numbers within the same second
      const nos = await Promise.all(Array.from({ length: 900 }, (_, i) => gens[i % 3]!(at)));
      expect(new Set(nos).size).toBe(900);
      expect(nos.every((x) => x.startsWith("20260202100000"))).toBe(true);
      expect([...nos].sort().at(-1)).toBe("20260202100000000900");
    } finally {
      for (const c of conns) c.disconnect();
    }
  });
});
