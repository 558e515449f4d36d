/**
 * Seckill through the REAL stack (every subgraph, the workers and the gateway as processes, seeded
 * demo data), driven with the contract operations: AdminCreateSeckillSession → the lifecycle job
 * brings it online → SeckillSessions → SeckillBuy (OK / SOLD_OUT / DUPLICATE / LIMIT) → the order
 * worker makes the order → SeckillReservation { order { status } } resolved through federation →
 * the cart refuses the SKU → CancelOrder gives the stock back to the session.
 * Needs schema/supergraph.graphql composed with the promotion subgraph (npx tsx scripts/compose.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@mallgraph/platform/testing";
import type { GraphQLHttpClient } from "./client.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

describe("seckill through the gateway", () => {
  let e: E2E;
  let api: GraphQLHttpClient;

  beforeAll(async () => {
    e = await startE2E();
    api = e.api;
  }, 300000);
  afterAll(async () => {
    await e?.stop();
  });

  it("session → online → storm of three buyers on stock 2 → orders → cart refuses → cancel gives stock back", async () => {
    const admin = await adminToken(e);
    const register = async () => (await registerMember(e, admin)).token;
    const [a, b, c] = [await register(), await register(), await register()];
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.stock.available >= 5);
    const before = sku.stock.available as number;

    const created = (
      await api.ok(
        "AdminCreateSeckillSession",
        {
          input: {
            title: "e2e flash",
            startsAt: new Date(Date.now() - 1000).toISOString(),
            endsAt: new Date(Date.now() + 3600_000).toISOString(),
            items: [{ skuId: sku.id, seckillPrice: "1.00", stock: 2, perUserLimit: 1 }],
          },
        },
        admin,
      )
    ).adminCreateSeckillSession;
    expect(created.status).toBe("SCHEDULED");
    expect(
      (
        await api.run(
          "AdminCreateSeckillSession",
          { input: { title: "x", startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString(), items: [] } },
          a,
        )
      ).code,
    ).toBe("UNAUTHENTICATED");
    const stockNow = async () =>
      (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.id === sku.id).stock.available as number;
    // the product view may be served from a short cache: wait until it shows the allocation
    await waitFor(async () => (await stockNow()) === before - 2, "the allocation visible in catalog");
    const session = async () => (await api.ok("SeckillSessions")).seckillSessions.find((s: any) => s.id === created.id);
    await waitFor(async () => (await session())?.status === "ONLINE", "the session online (lifecycle job)");

    const buy = (token: string, key: string) =>
      api.ok("SeckillBuy", { sessionId: created.id, skuId: sku.id, quantity: 1, idempotencyKey: key }, token).then((d) => d.seckillBuy);
    const [ra, rb, rc] = await Promise.all([buy(a, "ka"), buy(b, "kb"), buy(c, "kc")]);
    const codes = [ra.code, rb.code, rc.code].sort();
    expect(codes).toEqual(["OK", "OK", "SOLD_OUT"]);
    const winners = [
      [a, ra, "ka"],
      [b, rb, "kb"],
      [c, rc, "kc"],
    ].filter(([, r]) => (r as any).code === "OK") as Array<[string, { reservationId: string }, string]>;
    const [tokenW, resW, keyW] = winners[0]!;
    expect(await buy(tokenW, keyW)).toEqual({ code: "DUPLICATE", reservationId: resW.reservationId });
    expect(await buy(tokenW, "another-key")).toEqual({ code: "LIMIT_EXCEEDED", reservationId: null });
    expect((await session()).items[0].remaining).toBe(0);

    const reservation = await waitFor(async () => {
      const r = (await api.ok("SeckillReservation", { id: resW.reservationId }, tokenW)).seckillReservation;
      return r.status === "ORDERED" ? r : null;
    }, "the seckill order");
    expect(reservation.order).toEqual({ id: expect.any(String), status: "PENDING_PAYMENT" });
    expect((await api.ok("Order", { id: reservation.order.id }, tokenW)).order).toMatchObject({
      status: "PENDING_PAYMENT",
      payable: "1.00",
      items: [{ sku: { id: sku.id }, quantity: 1, price: "1.00" }],
    });
    expect((await api.ok("AddToCart", { skuId: sku.id, quantity: 1 }, tokenW)).addToCart.code).toBe("SECKILL_NOT_ALLOWED");
    expect((await api.ok("MyCoupons", {}, tokenW)).myCoupons).toEqual(expect.any(Array));

    expect((await api.ok("CancelOrder", { id: reservation.order.id }, tokenW)).cancelOrder.code).toBe("OK");
    await waitFor(
      async () => (await api.ok("SeckillReservation", { id: resW.reservationId }, tokenW)).seckillReservation.status === "CANCELLED",
      "the stock back in the session",
    );
    expect((await session()).items[0].remaining).toBe(1);
  });
});
