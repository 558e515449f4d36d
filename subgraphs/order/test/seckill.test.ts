/**
 * orderCreateSeckill (internal, promotion's seckill order worker): one SECKILL order per
 * reservation however often and however concurrently it is called, the short seckill payment
 * time-out, no catalog reservation (the stock already left catalog with the session).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers } from "../src/worker.ts";
import { startOrderEnv, CANCEL, MARK_PAID, waitFor, type OrderEnv } from "./support/env.ts";
import { internal, member } from "./support/fakes.ts";

const BATCH = `mutation($o: [SeckillOrderInput!]!) { orderCreateSeckillBatch(orders: $o) { code orderId status } }`;
const CREATE = `mutation($r: ID!, $b: ID!, $s: ID!, $q: Int!, $p: String!, $c: String!, $a: ID) {
  orderCreateSeckill(reservationId: $r, buyerId: $b, skuId: $s, quantity: $q, unitPrice: $p, currency: $c, addressId: $a) { code orderId status }
}`;

describe("orderCreateSeckill (1 s seckill payment time-out in this suite)", () => {
  let env: OrderEnv;
  let stopWorkers: () => Promise<void>;
  const create = (v: Record<string, unknown>) =>
    env.call(CREATE, { b: "sk-buyer", s: "phone", q: 1, p: "999.00", c: "CNY", ...v }, internal("promotion"));

  beforeAll(async () => {
    env = await startOrderEnv({ SECKILL_PAYMENT_TIMEOUT_SECONDS: "1" });
    env.catalog.put({ id: "phone", title: "Phone", price: "4999.00", available: 10 });
    stopWorkers = await startWorkers(env.config, { databaseUrl: env.db.url, outboxEveryMs: 500 });
  });
  afterAll(async () => {
    await stopWorkers?.();
    await env?.stop();
  });

  it("30 parallel calls for one reservation make exactly one SECKILL order at the seckill price; no catalog reservation", async () => {
    const reserveCalls = env.catalog.calls.reserve;
    const results = await Promise.all(Array.from({ length: 30 }, () => create({ r: "res-1", q: 2 })));
    const ids = new Set(results.map((r) => r.data.orderCreateSeckill.orderId));
    expect(results.every((r) => r.data.orderCreateSeckill.code === "OK")).toBe(true);
    expect(ids.size).toBe(1);
    const p = env.order.services.prisma;
    expect(await p.order.count({ where: { seckillReservationId: "res-1" } })).toBe(1);
    const o = await p.order.findFirstOrThrow({ where: { seckillReservationId: "res-1" }, include: { items: true } });
    expect(o.kind).toBe("SECKILL");
    expect(o.buyerId).toBe("sk-buyer");
    expect(o.payable.toString()).toBe("1998");
    expect(o.items.map((i) => [i.skuId, i.quantity, i.price.toString(), i.title])).toEqual([["phone", 2, "999", "Phone"]]);
    expect(env.catalog.calls.reserve).toBe(reserveCalls);
    expect(env.catalog.stock("phone")).toEqual({ available: 10, reserved: 0, sold: 0 });
    // the buyer sees it like any order
    // the buyer sees it like any order (status: PENDING_PAYMENT, or CANCELLED once this suite's 1 s time-out passed)
    const seen = await env.call(`query($id: ID!) { order(id: $id) { id payable kind } }`, { id: o.id }, "sk-buyer");
    expect(seen.data.order).toEqual({ id: o.id, payable: "1998.00", kind: "SECKILL" });
  });

  it("an unpaid seckill order is cancelled after the short time-out; the reservation still maps to that one order", async () => {
    const unpaid = (await create({ r: "res-2" })).data.orderCreateSeckill.orderId;
    const p = env.order.services.prisma;
    await waitFor(async () => (await p.order.findUniqueOrThrow({ where: { id: unpaid } })).status === "CANCELLED", "the seckill time-out");
    expect((await p.order.findUniqueOrThrow({ where: { id: unpaid } })).cancelReason).toBe("PAYMENT_TIMEOUT");
    // the same reservation again answers the (now cancelled) order, never a second one
    expect((await create({ r: "res-2" })).data.orderCreateSeckill).toEqual({ code: "OK", orderId: unpaid, status: "CANCELLED" });
    expect(await p.order.count({ where: { seckillReservationId: "res-2" } })).toBe(1);
    // paying it now is refused (payment then refunds)
    expect((await env.call(MARK_PAID, { o: unpaid, p: "pay-late", c: "SANDBOX" }, internal("payment"))).data.orderMarkPaid.code).toBe(
      "INVALID_STATE",
    );
  });

  it("the buyer may cancel; bad input is refused and writes nothing; members cannot call it", async () => {
    const id = (await create({ r: "res-4" })).data.orderCreateSeckill.orderId;
    expect((await env.call(CANCEL, { id }, "sk-buyer")).data.cancelOrder).toEqual({ code: "OK", order: { id, status: "CANCELLED" } });
    const p = env.order.services.prisma;
    const before = await p.order.count();
    expect((await create({ r: "res-5", q: 0 })).data.orderCreateSeckill.code).toBe("BAD_QUANTITY");
    expect((await create({ r: "res-5", p: "1.234" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", p: "-1" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", c: "XXX" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", a: "no-such-address" })).data.orderCreateSeckill.code).toBe("ADDRESS_NOT_FOUND");
    expect(
      (await env.call(CREATE, { r: "res-5", b: "x", s: "phone", q: 1, p: "1.00", c: "CNY" }, member("x"))).errors?.[0]?.extensions?.code,
    ).toBe("FORBIDDEN");
    expect(await p.order.count()).toBe(before);
  });

  describe("orderCreateSeckillBatch: many reservations, one transaction", () => {
    const line = (r: string, q = 1) => ({
      reservationId: r,
      buyerId: `b-${r}`,
      skuId: "phone",
      quantity: q,
      unitPrice: "10.00",
      currency: "CNY",
    });
    const batch = (orders: unknown[]) => env.call(BATCH, { o: orders }, internal("promotion"));
    const p = () => env.order.services.prisma;

    it("overlapping parallel batches (duplicates inside, one reservation already ordered) make exactly one order per reservation", async () => {
      const pre = (await create({ r: "bat-0" })).data.orderCreateSeckill.orderId;
      const rids = Array.from({ length: 120 }, (_, i) => `bat-${i}`);
      // 6 batches of 40 over 120 reservations, each reservation in two of them, plus repeats inside a batch
      const batches = Array.from({ length: 6 }, (_, b) =>
        [...rids.slice((b * 20) % 120, ((b * 20) % 120) + 40), rids[b]!].map((r) => line(r)),
      );
      const answers = await Promise.all(batches.map(batch));
      const byRid = new Map<string, Set<string>>();
      answers.forEach((a, b) => {
        expect(a.errors).toBeUndefined();
        a.data.orderCreateSeckillBatch.forEach((r: { code: string; orderId: string }, i: number) => {
          expect(r.code).toBe("OK");
          const rid = batches[b]![i]!.reservationId;
          byRid.set(rid, (byRid.get(rid) ?? new Set()).add(r.orderId));
        });
      });
      expect(byRid.size).toBe(120);
      for (const ids of byRid.values()) expect(ids.size).toBe(1);
      expect(byRid.get("bat-0")).toEqual(new Set([pre]));
      const orders = await p().order.findMany({ where: { seckillReservationId: { in: rids } }, include: { items: true } });
      expect(orders.length).toBe(120);
      expect(new Set(orders.map((o) => o.seckillReservationId)).size).toBe(120);
      expect(orders.every((o) => o.items.length === 1 && o.kind === "SECKILL")).toBe(true);
      // one creation event each (this suite's 1 s time-out then cancels them: more changes follow)
      const created = await p().orderStatusChange.findMany({ where: { orderId: { in: orders.map((o) => o.id) }, from: null } });
      expect(created.length).toBe(120);
      // each creation event in the outbox once: a batch's events share one row (decision 0039)
      const rows = await p().outbox.findMany({ where: { queue: "order-events" } });
      const queued = rows.flatMap((r) =>
        r.id.startsWith("events.") ? (r.data as { events: Array<{ eventId: string }> }).events.map((e) => e.eventId) : [r.id.slice(6)],
      );
      for (const c of created) expect(queued.filter((id) => id === c.id)).toEqual([c.id]);
      // … and published once each (its marker), by the workers
      const redis = env.order.services.redis;
      await waitFor(
        async () => (await redis.exists(...created.map((c) => `${env.config.REDIS_PREFIX}:{events}:published:${c.id}`))) === 120,
        "the batch's events published",
      );
      // the workers' sweep cancels the batches' unpaid orders (this suite's 1 s seckill time-out)
      await waitFor(
        async () => (await p().order.count({ where: { id: { in: orders.map((o) => o.id) }, cancelReason: "PAYMENT_TIMEOUT" } })) === 120,
        "the time-outs of the batches' orders",
      );
      expect(await env.order.services.orders.sweepExpired()).toBe(0);
    });

    it("a crash inside the batch's transaction leaves no order; the retry makes each exactly once", async () => {
      const rids = Array.from({ length: 50 }, (_, i) => `crash-${i}`);
      env.order.services.hooks.seckillBatch = () => {
        throw new Error("worker died mid-batch");
      };
      try {
        expect((await batch(rids.map((r) => line(r)))).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      } finally {
        env.order.services.hooks.seckillBatch = undefined;
      }
      expect(await p().order.count({ where: { seckillReservationId: { in: rids } } })).toBe(0);
      const [a, b] = await Promise.all([batch(rids.map((r) => line(r))), batch(rids.map((r) => line(r)))]);
      expect(a.data.orderCreateSeckillBatch).toEqual(b.data.orderCreateSeckillBatch);
      expect(await p().order.count({ where: { seckillReservationId: { in: rids } } })).toBe(50);
    });

    it("answers each reservation in the order given (BAD_QUANTITY for a bad line); a bad price refuses the whole call and writes nothing", async () => {
      const r = await batch([line("mix-1"), line("mix-2", 0), line("mix-3", 2)]);
      expect(r.data.orderCreateSeckillBatch.map((x: { code: string }) => x.code)).toEqual(["OK", "BAD_QUANTITY", "OK"]);
      const before = await p().order.count();
      expect((await batch([line("mix-4"), { ...line("mix-5"), unitPrice: "1.234" }])).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect((await env.call(BATCH, { o: [line("mix-6")] }, member("x"))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(await p().order.count()).toBe(before);
    });
  });
});
