/**
 * Seckill against the REAL catalog and order subgraphs, real PostgreSQL, Redis and BullMQ.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPromotionEnv, admin, waitFor, BUY, CREATE_SESSION, RESERVATION, SESSIONS, type PromotionEnv } from "./support/env.ts";

describe("seckill", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv({ pendingAfterMs: 0 });
  });
  afterAll(async () => {
    await env?.stop();
  });
  const sk = () => env.promotion.services.seckill;
  const buy = (who: string, s: string, k: string, q = 1, i = `${who}-${Math.random()}`) => env.call(BUY, { s, k, q, i }, who);
  const seckillOrders = (rids: string[]) =>
    env.order.services.prisma.order.count({ where: { kind: "SECKILL", seckillReservationId: { in: rids } } });

  it("creating a session takes the stock out of catalog, all or nothing; bad input writes nothing; operators only", async () => {
    const a = await env.newSku(50);
    const b = await env.newSku(5);
    const sessions = () => env.promotion.services.prisma.seckillSession.count();
    const input = (items: unknown[], extra: Record<string, unknown> = {}) => ({
      input: {
        title: "Double 11",
        startsAt: new Date(Date.now() + 3600_000).toISOString(),
        endsAt: new Date(Date.now() + 7200_000).toISOString(),
        items,
        ...extra,
      },
    });
    // b has only 5: the whole session is refused and a's stock is untouched
    const short = await env.call(
      CREATE_SESSION,
      input([
        { skuId: a, seckillPrice: "9.90", stock: 10, perUserLimit: 1 },
        { skuId: b, seckillPrice: "1.00", stock: 6, perUserLimit: 1 },
      ]),
      admin(),
    );
    expect(short.errors?.[0]?.extensions?.code).toBe("OUT_OF_STOCK");
    expect(short.errors?.[0]?.extensions?.failedSkuId).toBe(b);
    expect(await env.stock(a)).toEqual({ available: 50, reserved: 0, sold: 0 });
    expect(await env.stock(b)).toEqual({ available: 5, reserved: 0, sold: 0 });
    const bad: Array<[unknown[], Record<string, unknown>, string]> = [
      [[{ skuId: a, seckillPrice: "9.999", stock: 10, perUserLimit: 1 }], {}, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "-1", stock: 10, perUserLimit: 1 }], {}, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "9.90", stock: 0, perUserLimit: 1 }], {}, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "9.90", stock: 10, perUserLimit: 0 }], {}, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "9.90", stock: 10, perUserLimit: 11 }], {}, "BAD_USER_INPUT"],
      [
        [
          { skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 },
          { skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 },
        ],
        {},
        "BAD_USER_INPUT",
      ],
      [[{ skuId: "no-such-sku", seckillPrice: "9.90", stock: 1, perUserLimit: 1 }], {}, "NOT_FOUND"],
      [[], {}, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }], { title: " " }, "BAD_USER_INPUT"],
      [[{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }], { startsAt: "yesterday-ish" }, "BAD_USER_INPUT"],
      [
        [{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }],
        { endsAt: new Date(Date.now() + 1000).toISOString(), startsAt: new Date(Date.now() + 5000).toISOString() },
        "BAD_USER_INPUT",
      ],
      [
        [{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }],
        { startsAt: new Date(Date.now() - 7200_000).toISOString(), endsAt: new Date(Date.now() - 3600_000).toISOString() },
        "BAD_USER_INPUT",
      ],
    ];
    for (const [items, extra, code] of bad)
      expect(
        (await env.call(CREATE_SESSION, input(items, extra), admin())).errors?.[0]?.extensions?.code,
        JSON.stringify([items, extra]),
      ).toBe(code);
    expect(
      (await env.call(CREATE_SESSION, input([{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }]), "some-member")).errors?.[0]
        ?.extensions?.code,
    ).toBe("UNAUTHENTICATED");
    expect(
      (await env.call(CREATE_SESSION, input([{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }]), admin(["order:read"])))
        .errors?.[0]?.extensions?.code,
    ).toBe("FORBIDDEN");
    expect(await sessions()).toBe(0);
    expect(await env.stock(a)).toEqual({ available: 50, reserved: 0, sold: 0 });

    const ok = await env.call(
      CREATE_SESSION,
      input([
        { skuId: a, seckillPrice: "9.90", stock: 10, perUserLimit: 2 },
        { skuId: b, seckillPrice: "1", stock: 5, perUserLimit: 1 },
      ]),
      admin(),
    );
    expect(ok.errors).toBeUndefined();
    const s = ok.data.adminCreateSeckillSession;
    expect(s.status).toBe("SCHEDULED");
    expect(s.items).toEqual(
      [
        { skuId: a, seckillPrice: "9.90", currency: "CNY", stock: 10, remaining: 10, perUserLimit: 2 },
        { skuId: b, seckillPrice: "1.00", currency: "CNY", stock: 5, remaining: 5, perUserLimit: 1 },
      ].sort((x, y) => x.skuId.localeCompare(y.skuId)),
    );
    // the stock left catalog for good (reserved → sold: no reservation time-out gives it back)
    expect(await env.stock(a)).toEqual({ available: 40, reserved: 0, sold: 10 });
    expect(await env.stock(b)).toEqual({ available: 0, reserved: 0, sold: 5 });
    // the same SKU cannot be in two overlapping sessions
    expect(
      (await env.call(CREATE_SESSION, input([{ skuId: a, seckillPrice: "9.90", stock: 1, perUserLimit: 1 }]), admin())).errors?.[0]
        ?.extensions?.code,
    ).toBe("CONFLICT");
    expect(await env.stock(a)).toEqual({ available: 40, reserved: 0, sold: 10 });
    // a failure after the allocation gives the stock back (compensation)
    const c = await env.newSku(7);
    env.promotion.services.hooks.createSession = {
      beforeStep: (id) => {
        if (id === "persist") throw new Error("injected");
      },
    };
    try {
      expect(
        (await env.call(CREATE_SESSION, input([{ skuId: c, seckillPrice: "9.90", stock: 3, perUserLimit: 1 }]), admin())).errors?.[0]
          ?.extensions?.code,
      ).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      env.promotion.services.hooks.createSession = undefined;
    }
    expect(await env.stock(c)).toEqual({ available: 7, reserved: 0, sold: 0 });
    expect(await sessions()).toBe(1);
  });

  it("NOT_ONLINE before the start and after the end; unknown items NOT_FOUND; BAD_QUANTITY; bad input", async () => {
    const sku = await env.newSku(10);
    const startsAt = new Date(Date.now() + 3600_000);
    const sid = await env.createSession([{ skuId: sku, stock: 5, perUserLimit: 5 }], {
      startsAt,
      endsAt: new Date(startsAt.getTime() + 3600_000),
    });
    // not yet in Redis
    expect((await buy("early", sid, sku)).data.seckillBuy).toEqual({ code: "NOT_ONLINE", reservationId: null });
    // in Redis (brought online ahead of the start) but before the start
    await sk().lifecycle(startsAt);
    expect((await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid } })).status).toBe("ONLINE");
    expect((await buy("early", sid, sku)).data.seckillBuy.code).toBe("NOT_ONLINE");
    expect((await buy("early", sid, "other-sku")).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await buy("early", "no-session", sku)).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await buy("early", sid, sku, 0)).data.seckillBuy.code).toBe("BAD_QUANTITY");
    expect((await buy("early", sid, sku, -2)).data.seckillBuy.code).toBe("BAD_QUANTITY");
    expect((await buy("early", sid, sku, 1, "")).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await buy("early", sid, sku, 1, "x".repeat(65))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await env.call(BUY, { s: sid, k: sku, q: 1, i: "anon" })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // after the end
    await sk().lifecycle(new Date(startsAt.getTime() + 7200_000));
    expect((await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid } })).status).toBe("ENDED");
    expect((await buy("late", sid, sku)).data.seckillBuy.code).toBe("NOT_ONLINE");
    // nothing was sold: all 5 went back to catalog
    expect(await env.stock(sku)).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect((await env.redis) && (await sk().readReservation("nope"))).toBeNull();
  });

  it("a storm of 2,000 parallel buyers against stock 100: exactly 100 OK, exactly 100 orders once the worker drained", async () => {
    const sku = await env.newSku(150);
    const sid = await env.createSession([{ skuId: sku, seckillPrice: "1.99", stock: 100, perUserLimit: 1 }]);
    await sk().lifecycle();
    const stop = await env.startWorkers({ ordersOnly: true });
    try {
      const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => buy(`storm-${i}`, sid, sku, 1, "k")));
      const codes = results.map((r) => r.data?.seckillBuy.code ?? JSON.stringify(r.errors));
      expect(codes.filter((c) => c === "OK").length).toBe(100);
      expect(codes.filter((c) => c === "SOLD_OUT").length).toBe(1900);
      const rids = results.flatMap((r) => (r.data?.seckillBuy.code === "OK" ? [r.data.seckillBuy.reservationId as string] : []));
      expect(new Set(rids).size).toBe(100);
      await waitFor(async () => (await seckillOrders(rids)) === 100 && (await sk().pendingCount()) === 0, "100 seckill orders");
      expect(await seckillOrders(rids)).toBe(100);
      const orders = await env.order.services.prisma.order.findMany({
        where: { seckillReservationId: { in: rids } },
        include: { items: true },
      });
      expect(new Set(orders.map((o) => o.buyerId)).size).toBe(100);
      expect(orders.every((o) => o.payable.toString() === "1.99" && o.items[0]!.skuId === sku)).toBe(true);
      // each reservation knows its order; the buyer sees it, nobody else does
      const i = codes.indexOf("OK");
      const mine = (await env.call(RESERVATION, { id: rids[0] }, `storm-${i}`)).data.seckillReservation;
      expect(mine.status).toBe("ORDERED");
      expect(mine.order.id).toBe(orders.find((o) => o.seckillReservationId === rids[0])!.id);
      expect((await env.call(RESERVATION, { id: rids[0] }, "storm-x")).data.seckillReservation).toBeNull();
      const listed = (await env.call(SESSIONS)).data.seckillSessions.find((s: { id: string }) => s.id === sid);
      expect(listed.items).toEqual([{ skuId: sku, seckillPrice: "1.99", remaining: 0 }]);
      expect(listed.status).toBe("ONLINE");
      // catalog: 100 allocated (sold), 50 untouched
      expect(await env.stock(sku)).toEqual({ available: 50, reserved: 0, sold: 100 });
      // PostgreSQL has a copy of each reservation (the stream's consumer), ORDERED with its order, numbered 1..100
      await waitFor(async () => (await sk().streamBacklog()) === 0, "the streams drained");
      const copies = await env.promotion.services.prisma.seckillReservation.findMany({ where: { sessionId: sid } });
      expect(copies.length).toBe(100);
      expect(copies.every((c) => c.status === "ORDERED" && orders.some((o) => o.id === c.orderId && o.seckillReservationId === c.id))).toBe(
        true,
      );
      expect(copies.map((c) => c.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, n) => n + 1));
    } finally {
      await stop();
    }
  });

  it("per-user limit holds under 50 parallel attempts by one member; the same idempotency key gives one reservation", async () => {
    const sku = await env.newSku(100);
    const sid = await env.createSession([{ skuId: sku, stock: 100, perUserLimit: 3 }]);
    await sk().lifecycle();
    const r = await Promise.all(Array.from({ length: 50 }, (_, i) => buy("greedy", sid, sku, 1, `g-${i}`)));
    const codes = r.map((x) => x.data.seckillBuy.code);
    expect(codes.filter((c) => c === "OK").length).toBe(3);
    expect(codes.filter((c) => c === "LIMIT_EXCEEDED").length).toBe(47);
    // quantity counts against the limit
    expect((await buy("bulk", sid, sku, 4)).data.seckillBuy.code).toBe("LIMIT_EXCEEDED");
    expect((await buy("bulk", sid, sku, 3)).data.seckillBuy.code).toBe("OK");
    // one idempotency key, 20 parallel submits: one reservation, one unit of stock
    const d = await Promise.all(Array.from({ length: 20 }, () => buy("twice", sid, sku, 1, "same-key")));
    const ok = d.filter((x) => x.data.seckillBuy.code === "OK");
    const dup = d.filter((x) => x.data.seckillBuy.code === "DUPLICATE");
    expect(ok.length).toBe(1);
    expect(dup.length).toBe(19);
    expect(new Set(d.map((x) => x.data.seckillBuy.reservationId)).size).toBe(1);
    expect((await buy("twice", sid, sku, 1, "same-key")).data.seckillBuy).toEqual({
      code: "DUPLICATE",
      reservationId: ok[0]!.data.seckillBuy.reservationId,
    });
    // another member may use the same key string
    expect((await buy("other", sid, sku, 1, "same-key")).data.seckillBuy.code).toBe("OK");
    const remaining = await sk().remaining(sid, sku);
    expect(remaining).toBe(100 - 3 - 3 - 1 - 1);
    expect(await sk().bought(sid, sku, "greedy")).toBe(3);
  });
});
