/**
 * Seckill through the REAL stack (every subgraph, the workers and the gateway as processes, seeded
 * demo data), driven with the contract operations: AdminCreateSeckillSession → the lifecycle job
 * brings it online → SeckillSessions → SeckillBuy (OK / SOLD_OUT / DUPLICATE / LIMIT) → the order
 * worker makes the order → SeckillReservation { order { status } } resolved through federation →
 * the cart refuses the SKU → CancelOrder gives the stock back to the session.
 * Needs schema/supergraph.graphql composed with the promotion subgraph (npx tsx scripts/compose.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config } from "@mallgraph/platform/config";
import { createTestDatabase, createTestRedis, REPO_ROOT, type TestDatabase, type TestRedis } from "@mallgraph/platform/testing";
import { startStack, type Stack } from "../../../scripts/stack.ts";
import { seedAll } from "../../../scripts/seed.ts";
import { GraphQLHttpClient } from "../../../test/e2e/client.ts";
import { waitFor } from "./support/env.ts";

const composed = readFileSync(path.join(REPO_ROOT, "schema/supergraph.graphql"), "utf8").includes("seckillBuy");
if (!composed) console.warn("e2e-seckill skipped: schema/supergraph.graphql lacks the promotion subgraph (run npx tsx scripts/compose.ts)");

describe.skipIf(!composed)("seckill through the gateway", () => {
  let db: TestDatabase;
  let tr: TestRedis;
  let stack: Stack;
  let cfg: Config;
  let api: GraphQLHttpClient;

  beforeAll(async () => {
    const domains = DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations")));
    db = await createTestDatabase(domains);
    tr = createTestRedis();
    const env = { DATABASE_URL: db.url, REDIS_PREFIX: tr.prefix, NODE_ENV: "test", LOG_LEVEL: "warn" };
    cfg = loadConfig({ ...process.env, ...env });
    await seedAll(cfg);
    stack = await startStack({ env, randomPorts: true, readyTimeoutMs: 90_000 });
    api = new GraphQLHttpClient(stack.gatewayUrl);
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
    await tr?.cleanup();
  });

  it("session → online → storm of three buyers on stock 2 → orders → cart refuses → cancel gives stock back", async () => {
    const admin = (await api.ok("AdminLogin", { username: "admin", password: cfg.ADMIN_PASSWORD })).adminLogin.accessToken;
    const register = async () => {
      const phone = `136${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
      await api.ok("RequestSmsCode", { phone });
      const code = await waitFor(async () => {
        for (const m of (await api.ok("SentMessages", { recipient: phone }, admin)).sentMessages) {
          const c = /\b(\d{6})\b/.exec(m.body)?.[1];
          if (c) return c;
        }
        return undefined;
      }, "the SMS code");
      return (await api.ok("Register", { input: { phone, smsCode: code, password: "Str0ng-pass!" } })).register.accessToken as string;
    };
    const [a, b, c] = [await register(), await register(), await register()];
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.stock.available >= 5);
    const before = sku.stock.available as number;

    const created = (await api.ok("AdminCreateSeckillSession", {
      input: { title: "e2e flash", startsAt: new Date(Date.now() - 1000).toISOString(), endsAt: new Date(Date.now() + 3600_000).toISOString(), items: [{ skuId: sku.id, seckillPrice: "1.00", stock: 2, perUserLimit: 1 }] },
    }, admin)).adminCreateSeckillSession;
    expect(created.status).toBe("SCHEDULED");
    expect((await api.run("AdminCreateSeckillSession", { input: { title: "x", startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString(), items: [] } }, a)).code).toBe("UNAUTHENTICATED");
    const stockNow = async () => (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.id === sku.id).stock.available as number;
    // the product view may be served from a short cache: wait until it shows the allocation
    await waitFor(async () => (await stockNow()) === before - 2, "the allocation visible in catalog");
    const session = async () => (await api.ok("SeckillSessions")).seckillSessions.find((s: any) => s.id === created.id);
    await waitFor(async () => (await session())?.status === "ONLINE", "the session online (lifecycle job)");

    const buy = (token: string, key: string) => api.ok("SeckillBuy", { sessionId: created.id, skuId: sku.id, quantity: 1, idempotencyKey: key }, token).then((d) => d.seckillBuy);
    const [ra, rb, rc] = await Promise.all([buy(a, "ka"), buy(b, "kb"), buy(c, "kc")]);
    const codes = [ra.code, rb.code, rc.code].sort();
    expect(codes).toEqual(["OK", "OK", "SOLD_OUT"]);
    const winners = [[a, ra, "ka"], [b, rb, "kb"], [c, rc, "kc"]].filter(([, r]) => (r as any).code === "OK") as Array<[string, { reservationId: string }, string]>;
    const [tokenW, resW, keyW] = winners[0]!;
    expect(await buy(tokenW, keyW)).toEqual({ code: "DUPLICATE", reservationId: resW.reservationId });
    expect(await buy(tokenW, "another-key")).toEqual({ code: "LIMIT_EXCEEDED", reservationId: null });
    expect((await session()).items[0].remaining).toBe(0);

    const reservation = await waitFor(async () => {
      const r = (await api.ok("SeckillReservation", { id: resW.reservationId }, tokenW)).seckillReservation;
      return r.status === "ORDERED" ? r : null;
    }, "the seckill order");
    expect(reservation.order).toEqual({ id: expect.any(String), status: "PENDING_PAYMENT" });
    expect((await api.ok("Order", { id: reservation.order.id }, tokenW)).order).toMatchObject({ status: "PENDING_PAYMENT", payable: "1.00", items: [{ sku: { id: sku.id }, quantity: 1, price: "1.00" }] });
    expect((await api.ok("AddToCart", { skuId: sku.id, quantity: 1 }, tokenW)).addToCart.code).toBe("SECKILL_NOT_ALLOWED");
    expect((await api.ok("MyCoupons", {}, tokenW)).myCoupons).toEqual(expect.any(Array));

    expect((await api.ok("CancelOrder", { id: reservation.order.id }, tokenW)).cancelOrder.code).toBe("OK");
    await waitFor(async () => (await api.ok("SeckillReservation", { id: resW.reservationId }, tokenW)).seckillReservation.status === "CANCELLED", "the stock back in the session");
    expect((await session()).items[0].remaining).toBe(1);
  });
});
