/**
 * The buying path through the REAL stack (every subgraph, the workers and the gateway as
 * processes, seeded demo data), driven with the contract operations over HTTP and graphql-ws:
 * register → search → add to cart → place order → createPayment(SANDBOX) → sandboxCompletePayment →
 * the subscription receives PAID → cancelling a second unpaid order gives its stock back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config } from "@mallgraph/platform/config";
import { createTestDatabase, createTestRedis, REPO_ROOT, waitFor, type TestDatabase, type TestRedis } from "@mallgraph/platform/testing";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { seedAll } from "../../scripts/seed.ts";
import { GraphQLHttpClient, wsClient } from "./client.ts";

describe("buying path through the gateway", () => {
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

  it("cart → order → sandbox payment → PAID pushed; cancel releases stock", async () => {
    const admin = (await api.ok("AdminLogin", { username: "admin", password: cfg.ADMIN_PASSWORD })).adminLogin.accessToken;
    const phone = `137${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    await api.ok("RequestSmsCode", { phone });
    const code = await waitFor(async () => {
      const r = await api.ok("SentMessages", { recipient: phone }, admin);
      for (const m of r.sentMessages) {
        const c = /\b(\d{6})\b/.exec(m.body)?.[1];
        if (c) return c;
      }
      return undefined;
    }, "the SMS code");
    const token = (await api.ok("Register", { input: { phone, smsCode: code, password: "Str0ng-pass!" } })).register.accessToken;
    const addr = (await api.ok("AddAddress", { input: { receiver: "Li", phone, region: "Shanghai", detail: "1 Road", isDefault: true } }, token)).addAddress;
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const stockOf = async (skuId: string) => (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.id === skuId).stock.available as number;
    const sku = (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.stock.available > 3);
    const start = sku.stock.available as number;

    expect((await api.ok("AddToCart", { skuId: sku.id, quantity: 2 }, token)).addToCart.code).toBe("OK");
    const cart = (await api.ok("Cart", {}, token)).cart;
    expect(cart.items[0]).toMatchObject({ sku: { id: sku.id, title: sku.title, price: sku.price }, quantity: 2, checked: true });
    const placed = (await api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "e2e-1" } }, token)).placeOrder;
    expect(placed.code).toBe("OK");
    expect(placed.order.payable).toBe(cart.totals.payable);
    expect(await stockOf(sku.id)).toBe(start - 2);

    const ws = wsClient(stack.gatewayUrl, token);
    const events: any[] = [];
    ws.subscribe(
      { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status order { id orderNo status items { sku { title } } } } }`, variables: { id: placed.order.id } },
      { next: (r) => void events.push(r), error: () => undefined, complete: () => undefined },
    );
    await new Promise((r) => setTimeout(r, 500)); // let the subscription register before paying
    const pay = (await api.ok("CreatePayment", { orderId: placed.order.id, channel: "SANDBOX" }, token)).createPayment;
    expect(pay.code).toBe("OK");
    expect((await api.ok("SandboxCompletePayment", { checkoutRef: pay.payment.checkoutRef }, token)).sandboxCompletePayment).toBe(true);
    await waitFor(async () => events.length > 0, "the PAID event");
    expect(events[0].data.orderStatusChanged).toEqual({ status: "PAID", order: { id: placed.order.id, orderNo: placed.order.orderNo, status: "PAID", items: [{ sku: { title: sku.title } }] } });
    await ws.dispose();

    const second = (await api.ok("PlaceOrder", { input: { items: [{ skuId: sku.id, quantity: 1 }], addressId: addr.id } }, token)).placeOrder;
    expect(await stockOf(sku.id)).toBe(start - 3);
    expect((await api.ok("CancelOrder", { id: second.order.id }, token)).cancelOrder).toEqual({ code: "OK", order: { id: second.order.id, status: "CANCELLED" } });
    expect(await stockOf(sku.id)).toBe(start - 2);
  }, 120_000);
});
