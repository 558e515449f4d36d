/**
 * Never lose a reservation, never make two orders of one: workers closed midway, a crash between
 * order creation and marking the reservation, a lost stream entry; cancelled orders give stock back to the
 * session; an ended session gives its unsold stock back to catalog; the repeatable tick drives it all.
 */
import { eventChannel, type LiveEvent } from "@mallgraph/platform/events";
import { createRedis } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seckillSkusKey, shardKeys } from "../src/services/keys.ts";
import { startPromotionEnv, waitFor, BUY, RESERVATION, type PromotionEnv } from "./support/env.ts";

const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { code order { status } } }`;
const MARK_PAID = `mutation($o: ID!, $p: ID!) { orderMarkPaid(orderId: $o, paymentId: $p, channel: "SANDBOX") { code } }`;

describe("seckill recovery and settlement", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv({ pendingAfterMs: 0 });
  });
  afterAll(async () => {
    await env?.stop();
  });
  const sk = () => env.promotion.services.seckill;
  const buy = async (who: string, s: string, k: string, q = 1) => {
    const r = await env.call(BUY, { s, k, q, i: `${who}-${Math.random()}` }, who);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.seckillBuy as { code: string; reservationId: string };
  };
  const ordersOf = (rids: string[]) => env.order.services.prisma.order.findMany({ where: { seckillReservationId: { in: rids } } });
  const statusOf = async (rid: string) => (await sk().readReservation(rid))!.status;
  const copies = (rids: string[]) => env.promotion.services.prisma.seckillReservation.findMany({ where: { id: { in: rids } } });

  it("workers closed midway and crashes after the order was made still give exactly one order per reservation", async () => {
    const sku = await env.newSku(40);
    const sid = await env.createSession([{ skuId: sku, stock: 40, perUserLimit: 1 }]);
    await sk().lifecycle();
    const rids = (await Promise.all(Array.from({ length: 40 }, (_, i) => buy(`w-${i}`, sid, sku)))).map((r) => r.reservationId);
    expect(rids.every(Boolean)).toBe(true);
    // first worker: one stream entry at a time, and the first 3 "crash" right after order answered
    let crashes = 0;
    const stopA = await env.startWorkers({
      ordersOnly: true,
      streamCount: 1,
      claimIdleMs: 500,
      hooks: {
        afterOrderCreated: () => {
          if (crashes < 3) {
            crashes++;
            throw new Error("worker died after the order was created");
          }
        },
      },
    });
    await waitFor(async () => (await ordersOf(rids)).length >= 6, "a few orders from the first worker", 90_000);
    await stopA();
    // a second worker finishes the rest (the crashed entries are taken over: the same reservationId again)
    const stopB = await env.startWorkers({ ordersOnly: true, claimIdleMs: 500 });
    try {
      await waitFor(async () => (await Promise.all(rids.map(statusOf))).every((s) => s === "ORDERED"), "every reservation ORDERED", 90_000); // slow under a loaded machine
      // the PostgreSQL copy follows: every reservation, ORDERED with its order
      await waitFor(async () => (await copies(rids)).filter((c) => c.status === "ORDERED").length === 40, "the copies ORDERED");
    } finally {
      await stopB();
    }
    const orders = await ordersOf(rids);
    expect(orders.length).toBe(40);
    expect(new Set(orders.map((o) => o.seckillReservationId)).size).toBe(40);
    expect(crashes).toBe(3);
    for (const rid of rids) expect((await sk().readReservation(rid))!.orderId).toBe(orders.find((o) => o.seckillReservationId === rid)!.id);
    const copied = await copies(rids);
    expect(copied.map((c) => [c.id, c.orderId, c.quantity]).sort()).toEqual(orders.map((o) => [o.seckillReservationId, o.id, 1]).sort());
    expect(new Set(copied.map((c) => `${c.homeShard}.${c.seq}`)).size).toBe(40);
  });

  it("reservations read together make their orders in one batch; a crash inside a batch's transaction and after it still give exactly one order per reservation", async () => {
    const sku = await env.newSku(60);
    const sid = await env.createSession([{ skuId: sku, stock: 60, perUserLimit: 1 }]);
    await sk().lifecycle();
    const rids = (await Promise.all(Array.from({ length: 60 }, (_, i) => buy(`bt-${i}`, sid, sku)))).map((r) => r.reservationId);
    expect(rids.every(Boolean)).toBe(true);
    const batches: string[][] = [];
    let insideCrashes = 0;
    let afterCrashes = 0;
    env.order.services.hooks.seckillBatch = (ids) => {
      batches.push(ids);
      if (insideCrashes < 2 && ids.length > 1) {
        insideCrashes++;
        throw new Error("order died inside the batch's transaction");
      }
    };
    const stop = await env.startWorkers({
      ordersOnly: true,
      claimIdleMs: 500,
      hooks: {
        afterOrderCreated: () => {
          if (afterCrashes < 5) {
            afterCrashes++;
            throw new Error("worker died after the batch answered");
          }
        },
      },
    });
    try {
      await waitFor(
        async () => (await Promise.all(rids.map(statusOf))).every((s) => s === "ORDERED"),
        "every reservation ORDERED",
        120_000,
      );
    } finally {
      await stop();
      env.order.services.hooks.seckillBatch = undefined;
    }
    expect(insideCrashes).toBe(2);
    expect(afterCrashes).toBe(5);
    expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1);
    const orders = await ordersOf(rids);
    expect(orders.length).toBe(60);
    expect(new Set(orders.map((o) => o.seckillReservationId)).size).toBe(60);
    for (const rid of rids) expect((await sk().readReservation(rid))!.orderId).toBe(orders.find((o) => o.seckillReservationId === rid)!.id);
  });

  it("a worker that hangs right after order answered (a dead worker holding its entry): the sweeper finishes with the same order", async () => {
    const sku = await env.newSku(3);
    const sid = await env.createSession([{ skuId: sku, stock: 3, perUserLimit: 1 }]);
    await sk().lifecycle();
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    let entered = 0;
    const stop = await env.startWorkers({
      ordersOnly: true,
      hooks: {
        afterOrderCreated: async () => {
          entered++;
          await hung;
        },
      },
    });
    try {
      const { reservationId } = await buy("stuck", sid, sku);
      await waitFor(async () => entered === 1, "the worker inside the job");
      expect((await ordersOf([reservationId])).length).toBe(1);
      expect(await statusOf(reservationId)).toBe("PENDING");
      // another instance's sweeper takes over while the first still holds the job
      expect(await sk().sweepPending()).toBe(1);
      expect(await statusOf(reservationId)).toBe("ORDERED");
      // the "dead" worker wakes up late: nothing changes
      release();
      await waitFor(async () => (await sk().streamBacklog()) === 0, "the late entry done");
      const orders = await ordersOf([reservationId]);
      expect(orders.length).toBe(1);
      expect((await sk().readReservation(reservationId))!.orderId).toBe(orders[0]!.id);
    } finally {
      release();
      await stop();
    }
  });

  it("a reservation whose stream entry was lost is found by the sweeper, and copied to PostgreSQL before its order", async () => {
    const sku = await env.newSku(5);
    const sid = await env.createSession([{ skuId: sku, stock: 5, perUserLimit: 1 }]);
    await sk().lifecycle();
    const { reservationId } = await buy("lost", sid, sku);
    // no worker ran: the entry is simply gone
    await env.promotion.services.redis.xtrim(shardKeys(env.config.REDIS_PREFIX, sid, sku, 0).stream, "MAXLEN", 0);
    expect(await sk().streamBacklog()).toBe(0);
    expect(await env.promotion.services.prisma.seckillReservation.count({ where: { id: reservationId } })).toBe(0);
    expect(await statusOf(reservationId)).toBe("PENDING");
    expect(await sk().sweepPending()).toBe(1);
    expect(await statusOf(reservationId)).toBe("ORDERED");
    expect((await ordersOf([reservationId])).length).toBe(1);
    expect(await env.promotion.services.prisma.seckillReservation.count({ where: { id: reservationId } })).toBe(1);
    // sweeping again (or a late duplicate entry) changes nothing
    expect(await sk().sweepPending()).toBe(0);
    expect(await sk().createOrder(reservationId)).toBe("ORDERED");
    expect((await ordersOf([reservationId])).length).toBe(1);
  });

  it("cancelled orders give stock and the limit back to the session; paid ones settle; the ended session returns its unsold stock to catalog", async () => {
    const sku = await env.newSku(10);
    const sid = await env.createSession([{ skuId: sku, stock: 3, perUserLimit: 1 }]);
    expect(await env.stock(sku)).toEqual({ available: 7, reserved: 0, sold: 3 });
    await sk().lifecycle();
    const skus = seckillSkusKey(env.config.REDIS_PREFIX);
    expect(await env.promotion.services.redis.sismember(skus, sku)).toBe(1);
    const x = await buy("x", sid, sku);
    const y = await buy("y", sid, sku);
    expect(await sk().createOrder(x.reservationId)).toBe("ORDERED");
    expect(await sk().createOrder(y.reservationId)).toBe("ORDERED");
    const [ox] = await ordersOf([x.reservationId]);
    const [oy] = await ordersOf([y.reservationId]);
    expect((await buy("x", sid, sku)).code).toBe("LIMIT_EXCEEDED");
    // x cancels, y pays
    expect((await env.callOrder(CANCEL, { id: ox!.id }, "x")).data.cancelOrder.code).toBe("OK");
    expect(
      (await env.callOrder(MARK_PAID, { o: oy!.id, p: "pay-y" }, { kind: "internal", service: "payment" })).data.orderMarkPaid.code,
    ).toBe("OK");
    expect(await sk().pollOrdered()).toEqual({ cancelled: 1, paid: 1 });
    expect(await sk().pollOrdered()).toEqual({ cancelled: 0, paid: 0 });
    expect((await env.call(RESERVATION, { id: x.reservationId }, "x")).data.seckillReservation).toEqual({
      id: x.reservationId,
      status: "CANCELLED",
      quantity: 1,
      order: { id: ox!.id },
    });
    expect(await statusOf(y.reservationId)).toBe("ORDERED");
    expect(await sk().remaining(sid, sku)).toBe(2);
    // x may buy again (limit given back)
    const x2 = await buy("x", sid, sku);
    expect(x2.code).toBe("OK");
    expect(await sk().createOrder(x2.reservationId)).toBe("ORDERED");
    // the session ends with x's second order still unpaid: the unsold stock waits for it
    await sk().lifecycle(new Date(Date.now() + 2 * 3600_000));
    expect(await env.promotion.services.redis.sismember(skus, sku)).toBe(0);
    expect((await buy("z", sid, sku)).code).toBe("NOT_ONLINE");
    expect((await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid } })).stockReturnedAt).toBeNull();
    expect(await env.stock(sku)).toEqual({ available: 7, reserved: 0, sold: 3 });
    // it times out / is cancelled → back to the session → and with nothing open, back to catalog
    const [ox2] = await ordersOf([x2.reservationId]);
    expect((await env.callOrder(CANCEL, { id: ox2!.id }, "x")).data.cancelOrder.code).toBe("OK");
    expect((await sk().tick()).returned).toBe(1);
    expect(await env.stock(sku)).toEqual({ available: 9, reserved: 0, sold: 1 });
    const s = await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid }, include: { items: true } });
    expect(s.stockReturnedAt).not.toBeNull();
    expect(s.items[0]!.returnedStock).toBe(2);
    // settling again gives nothing back twice
    await sk().lifecycle(new Date(Date.now() + 3 * 3600_000));
    expect(await env.stock(sku)).toEqual({ available: 9, reserved: 0, sold: 1 });
  });

  it("the repeatable tick job brings a session online, and cancels flow back without calling anything by hand", async () => {
    const sku = await env.newSku(4);
    const sid = await env.createSession([{ skuId: sku, stock: 2, perUserLimit: 2 }]);
    const stop = await env.startWorkers({ tickEveryMs: 200 });
    try {
      await waitFor(
        async () => (await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid } })).status === "ONLINE",
        "the session online",
      );
      const r = await buy("auto", sid, sku, 2);
      expect(r.code).toBe("OK");
      expect((await buy("auto2", sid, sku)).code).toBe("SOLD_OUT");
      const order = await waitFor(async () => (await ordersOf([r.reservationId]))[0], "the order");
      expect((await env.callOrder(CANCEL, { id: order.id }, "auto")).data.cancelOrder.code).toBe("OK");
      await waitFor(async () => (await statusOf(r.reservationId)) === "CANCELLED", "the cancellation noticed");
      expect((await buy("auto2", sid, sku)).code).toBe("OK");
    } finally {
      await stop();
    }
  });
  it("each status change is a live event for the buyer's seckillReservationChanged subscription", async () => {
    const sub = createRedis(env.config.REDIS_URL);
    const events: LiveEvent[] = [];
    try {
      await sub.subscribe(eventChannel(env.config.REDIS_PREFIX, "seckillReservationChanged"));
      sub.on("message", (_c: string, m: string) => events.push(JSON.parse(m)));
      const sku = await env.newSku(2);
      const sid = await env.createSession([{ skuId: sku, stock: 1, perUserLimit: 1 }]);
      await sk().lifecycle();
      const { reservationId } = await buy("listener", sid, sku);
      expect(await sk().createOrder(reservationId)).toBe("ORDERED");
      const ev = await waitFor(async () => events.find((e) => e.keys.reservationId === reservationId), "the event");
      expect(ev).toEqual({ eventId: `${reservationId}.ORDERED`, keys: { reservationId }, audience: ["listener"] });
      const EVENT = `query($r: ID!, $e: ID!) { seckillReservationChangedEvent(reservationId: $r, eventId: $e) { id status order { id } } }`;
      const asGateway = (id: string) => ({ kind: "member" as const, id, service: "gateway" });
      const payload = (await env.call(EVENT, { r: reservationId, e: ev.eventId }, asGateway("listener"))).data
        .seckillReservationChangedEvent;
      expect(payload).toMatchObject({ id: reservationId, status: "ORDERED", order: { id: expect.any(String) } });
      expect(
        (await env.call(EVENT, { r: reservationId, e: ev.eventId }, asGateway("someone"))).data.seckillReservationChangedEvent,
      ).toBeNull();
      expect((await env.call(EVENT, { r: reservationId, e: ev.eventId }, "listener")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    } finally {
      sub.disconnect();
    }
  });
});
