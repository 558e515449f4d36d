/**
 * A database per domain (issue 14): ORDER_DATABASE_URL and CATALOG_DATABASE_URL move those two domains
 * to a database of their own, every other domain stays in DATABASE_URL's. scripts/migrate.ts migrates
 * each domain into its own database; the seed, every subgraph and the workers follow the variables, so
 * an order placed and paid through the gateway (member address, catalog stock, order, payment) leaves
 * each row in its domain's database, and a domain's schema does not even exist in the other one.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type DatabaseDomain } from "@mallgraph/platform/config";
import { randomId, TEST_PG_URL, waitFor } from "@mallgraph/platform/testing";
import { migrate, migratedDomains } from "../../scripts/migrate.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

const SPLIT: DatabaseDomain[] = ["order", "catalog"];

async function query<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The domain schemas of a database that hold tables (Prisma's _prisma_migrations included). */
async function domainSchemas(url: string): Promise<string[]> {
  const rows = await query<{ s: string }>(
    url,
    `SELECT DISTINCT table_schema AS s FROM information_schema.tables WHERE table_schema = ANY($1) ORDER BY 1`,
    [migratedDomains()],
  );
  return rows.map((r) => r.s);
}

function databaseUrl(name: string): string {
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  u.search = "";
  return u.toString();
}

describe("scripts/migrate.ts with a database per domain", () => {
  const [shared, own] = [`mallgraph_e2e_${randomId(4)}`, `mallgraph_e2e_${randomId(4)}`].map(databaseUrl) as [string, string];
  // in afterAll, not a finally: a test that times out on a loaded machine still drops both
  afterAll(async () => {
    for (const url of [shared, own]) await query(TEST_PG_URL, `DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  });

  it("creates both databases and migrates ORDER and CATALOG into theirs, the other domains into DATABASE_URL's", async () => {
    await migrate(loadConfig({ DATABASE_URL: shared, ORDER_DATABASE_URL: own, CATALOG_DATABASE_URL: own } as unknown as NodeJS.ProcessEnv));
    expect(await domainSchemas(own)).toEqual([...SPLIT].sort());
    expect(await domainSchemas(shared)).toEqual(
      migratedDomains()
        .filter((d) => !SPLIT.includes(d))
        .sort(),
    );
    const applied = await query<{ n: string }>(own, `SELECT count(*) AS n FROM "order"."_prisma_migrations" WHERE finished_at IS NOT NULL`);
    expect(Number(applied[0]!.n)).toBeGreaterThan(0);
  }, 400_000);
});

describe("the platform with ORDER and CATALOG in a database of their own", () => {
  let e: E2E;
  let shared: string;
  let own: string;

  beforeAll(async () => {
    e = await startE2E({ ownDatabase: SPLIT });
    [shared, own] = e.databases.map((d) => d.url) as [string, string];
  }, 300000);
  afterEach((ctx) => {
    // a failing end-to-end test shows what the processes said (kept in memory, not printed otherwise)
    if (ctx.task.result?.state === "fail" && e) console.error(e.stack.logs());
  });
  afterAll(async () => {
    await e?.stop();
  });

  it("seeds each domain into its database; an order placed and paid through the gateway is written where its domain lives", async () => {
    const exists = async (url: string, table: string) => (await query(url, `SELECT to_regclass($1) AS t`, [table]))[0].t !== null;
    // the seed followed CATALOG_DATABASE_URL: the demo products are in the second database only
    expect(Number((await query(own, `SELECT count(*) AS n FROM catalog."Spu"`))[0].n)).toBeGreaterThan(0);
    for (const t of ['catalog."Spu"', '"order"."Order"']) expect(await exists(shared, t)).toBe(false);
    for (const t of ['member."Member"', 'payment."Payment"', 'promotion."CouponTemplate"']) expect(await exists(own, t)).toBe(false);

    const admin = await adminToken(e);
    const { phone, token } = await registerMember(e, admin);
    const addr = (
      await e.api.ok("AddAddress", { input: { receiver: "Li", phone, region: "Shanghai", detail: "1 Road", isDefault: true } }, token)
    ).addAddress;
    const spuId = (await e.api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await e.api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.stock.available > 3);
    const sold = async () => Number((await query(own, `SELECT "sold" FROM catalog."Inventory" WHERE "skuId" = $1`, [sku.id]))[0].sold);
    const soldBefore = await sold();
    expect((await e.api.ok("AddToCart", { skuId: sku.id, quantity: 2 }, token)).addToCart.code).toBe("OK");
    const placed = (await e.api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "split-1" } }, token))
      .placeOrder;
    expect(placed.code).toBe("OK");
    const pay = (await e.api.ok("CreatePayment", { orderId: placed.order.id, channel: "SANDBOX" }, token)).createPayment;
    expect(pay.code).toBe("OK");
    expect((await e.api.ok("SandboxCompletePayment", { checkoutRef: pay.payment.checkoutRef }, token)).sandboxCompletePayment).toBe(true);
    await waitFor(async () => (await e.api.ok("Order", { id: placed.order.id }, token)).order.status === "PAID", "the order PAID");

    const [member] = await query(shared, `SELECT "id" FROM member."Member" WHERE "phone" = $1`, [phone]);
    expect(member).toBeDefined();
    expect(await query(own, `SELECT "buyerId", "status"::text AS status FROM "order"."Order" WHERE "id" = $1`, [placed.order.id])).toEqual([
      { buyerId: member.id, status: "PAID" },
    ]);
    expect(
      await query(shared, `SELECT "orderNo", "status"::text AS status FROM payment."Payment" WHERE "orderId" = $1`, [placed.order.id]),
    ).toEqual([{ orderNo: placed.order.orderNo, status: "SUCCEEDED" }]);
    // the paid order's reservation is confirmed in CATALOG's database: its two units are sold
    await waitFor(async () => (await sold()) === soldBefore + 2, "the reservation confirmed (sold + 2)");
  });
});
