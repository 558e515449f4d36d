import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PromotionPort } from "../src/services/ports.ts";
import { startOrderEnv, PLACE, type OrderEnv } from "./support/env.ts";

/**
 * A promotion stand-in that records locks/releases and can fail on cue (the real promotion is in
 * the env for the cart; here the failures are injected). Its quote puts a coupon's 1.50 on the first line.
 */
function recordingPromotion() {
  const locked = new Set<string>();
  const log: string[] = [];
  const port: PromotionPort = {
    async price(_m, currency, lines, couponId) {
      if (couponId === "quote-fails") throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "promotion unreachable (injected)");
      const cents = (v: string) => Math.round(Number(v) * 100);
      const off = couponId && couponId !== "unknown-coupon" ? 150 : 0;
      const fmt = (c: number) => (c / 100).toFixed(2);
      const total = lines.reduce((a, l) => a + cents(l.unitPrice) * l.quantity, 0);
      return {
        currency,
        itemsTotal: fmt(total),
        discount: fmt(off),
        payable: fmt(total - off),
        lines: lines.map((l, i) => ({
          skuId: l.skuId,
          discount: fmt(i === 0 ? off : 0),
          payable: fmt(cents(l.unitPrice) * l.quantity - (i === 0 ? off : 0)),
        })),
        coupon: off ? { couponId: couponId!, discount: fmt(off) } : null,
        couponReason: couponId && !off ? "NOT_FOUND" : null,
      };
    },
    async lockCoupon(_m, couponId, orderId) {
      locked.add(orderId);
      log.push(`lock:${couponId}`);
      if (couponId === "lost-answer") throw new Error("promotion timed out after locking (injected)");
      return { code: couponId === "bad-coupon" ? "COUPON_UNAVAILABLE" : "OK", discount: "1.50", reason: null };
    },
    async releaseCoupon(orderId) {
      locked.delete(orderId);
      log.push("release");
    },
    async consumeCoupon() {},
  };
  return { port, locked, log };
}

describe("placeOrder compensation: a failure at any step undoes the earlier ones", () => {
  let env: OrderEnv;
  const promo = recordingPromotion();
  let n = 0;
  let buyer: string;
  let addressId: string;
  const START = 10;
  const place = (input: Record<string, unknown> = {}) =>
    env.call(
      PLACE,
      {
        input: {
          addressId,
          items: [
            { skuId: "tea", quantity: 2 },
            { skuId: "cup", quantity: 3 },
          ],
          couponId: "c-1",
          ...input,
        },
      },
      buyer,
    );

  async function assertNothingLeft() {
    expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
    expect(env.catalog.stock("cup")).toEqual({ available: START, reserved: 0, sold: 0 });
    for (const r of env.catalog.reservations.values()) expect(r.state).not.toBe("RESERVED");
    expect(promo.locked.size).toBe(0);
    const p = env.order.services.prisma;
    expect(await p.order.count({ where: { buyerId: buyer } })).toBe(0);
    expect(await p.orderItem.count()).toBe(await p.orderItem.count({ where: { order: { buyerId: { not: buyer } } } }));
    expect(await p.outbox.count({ where: { queue: "order-events", data: { path: ["event", "audience"], array_contains: [buyer] } } })).toBe(
      0,
    );
  }

  beforeAll(async () => {
    env = await startOrderEnv({}, { ports: { promotion: promo.port } });
  });
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(() => {
    buyer = `c${++n}`;
    addressId = env.memberSg.addAddress(buyer).id;
    env.catalog.reservations.clear();
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: START });
    env.catalog.put({ id: "cup", title: "Cup", price: "0.10", available: START });
    env.order.services.hooks.placeOrder = undefined;
    promo.locked.clear();
  });

  for (const step of ["reserveStock", "priceLines", "lockCoupon"]) {
    it(`failure right after ${step} undoes it and everything before`, async () => {
      env.order.services.hooks.placeOrder = {
        afterStep: (id) => {
          if (id === step) throw new Error(`injected failure after ${step}`);
        },
      };
      const r = await place();
      expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      await assertNothingLeft();
    });
  }

  it("a failure right after createOrder (the workflow's pivot) keeps the order: past the pivot a run only goes forward", async () => {
    env.order.services.hooks.placeOrder = {
      afterStep: (id) => {
        if (id === "createOrder") throw new Error("injected failure after createOrder");
      },
    };
    const r = await place();
    expect(r.data.placeOrder).toMatchObject({ code: "OK", order: { status: "PENDING_PAYMENT", payable: "23.80" } });
    expect(env.catalog.stock("tea")).toEqual({ available: START - 2, reserved: 2, sold: 0 });
    expect(promo.locked.has(r.data.placeOrder.order.id)).toBe(true);
    expect(await env.order.services.prisma.order.count({ where: { buyerId: buyer } })).toBe(1);
  });

  it("failure before the first step changes nothing", async () => {
    env.order.services.hooks.placeOrder = {
      beforeStep: (id) => {
        if (id === "reserveStock") throw new Error("injected");
      },
    };
    expect((await place()).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    await assertNothingLeft();
    expect(env.catalog.reservations.size).toBe(0);
  });

  it("a failing catalog reserve call is compensated (release is idempotent)", async () => {
    env.catalog.failNext.inventoryReserve = 1;
    expect((await place()).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    await assertNothingLeft();
  });

  it("an ambiguous createOrder failure (after its commit) deletes the order and releases the stock", async () => {
    // simulate "committed, then the connection broke": the step throws after its transaction
    let committed = 0;
    env.order.services.hooks.placeOrder = {
      afterInvoke: async (id) => {
        if (id !== "createOrder") return;
        committed = await env.order.services.prisma.order.count({ where: { buyerId: buyer } });
        throw new Error("connection lost after COMMIT (injected)");
      },
    };
    expect((await place()).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(committed).toBe(1); // the order was there when the step failed
    await assertNothingLeft();
  });

  it("a quote that fails after the reservation (promotion unreachable) releases the stock and answers the service's error", async () => {
    const released = env.catalog.calls.release;
    expect((await place({ couponId: "quote-fails" })).errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
    expect(env.catalog.calls.release - released).toBe(1);
    await assertNothingLeft();
  });

  it("a refused coupon releases the stock and answers COUPON_UNAVAILABLE", async () => {
    const r = await place({ couponId: "bad-coupon" });
    expect(r.data.placeOrder).toMatchObject({ code: "COUPON_UNAVAILABLE", order: null });
    promo.locked.clear(); // the port recorded the refused lock attempt itself
    await assertNothingLeft();
  });

  it("a coupon lock whose answer was lost (the call failed after locking) is released with the stock", async () => {
    expect((await place({ couponId: "lost-answer" })).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    await assertNothingLeft();
  });

  it("the discount of a locked coupon is taken off the payable amount", async () => {
    const r = await place();
    expect(r.data.placeOrder.order).toMatchObject({ itemsTotal: "25.30", payable: "23.80" });
    const items = await env.order.services.prisma.orderItem.findMany({
      where: { orderId: r.data.placeOrder.order.id },
      orderBy: { skuId: "desc" },
    });
    expect(items.map((i) => [i.skuId, i.discount.toFixed(2), i.payable.toFixed(2)])).toEqual([
      ["tea", "1.50", "23.50"],
      ["cup", "0.00", "0.30"],
    ]);
  });

  it("a failing cart clean-up (best-effort, after commit) keeps the order", async () => {
    await env.callCart(`mutation { addToCart(skuId: "tea", quantity: 1) { code } }`, {}, buyer);
    env.order.services.hooks.placeOrder = {
      beforeStep: (id) => {
        if (id === "removeFromCart") throw new Error("cart down");
      },
    };
    const r = await place({ fromCart: true, couponId: null });
    expect(r.data.placeOrder.code).toBe("OK");
    expect(env.catalog.stock("tea")).toEqual({ available: START - 1, reserved: 1, sold: 0 });
    const cart = await env.callCart(`{ cart { items { skuId } } }`, {}, buyer);
    expect(cart.data.cart.items).toEqual([{ skuId: "tea" }]);
  });
});
