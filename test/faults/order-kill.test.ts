/**
 * Fault injection on the order subgraph (issue 12, decision 0031), real processes (scripts/stack.ts
 * through the e2e harness): a storm of direct orders through the gateway, `kill -9` of the order
 * subgraph in the middle of it (placements in flight: stock reserved, coupons locked, orders being
 * written), then a restart. Every client repeats its placement with the same idempotency key until
 * it gets an answer. Afterwards — once the workers' workflow sweep has taken the dead runs (their
 * 30 s lease) — every accepted order exists exactly once, no order exists that was not accepted,
 * the SKU's stock is initial − ordered (no reservation outlives the run that made it), and no run is
 * left unfinished. The test prints what it killed and what it counted.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../packages/platform/src/testing.ts";
import { adminToken, pool, registerMemberPatiently, startE2E, type E2E } from "../e2e/harness.ts";
import { newKey } from "./support.ts";

const MEMBERS = 12;
const ORDERS_EACH = 4;
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { id } } }`;

interface Buyer {
  token: string;
  addressId: string;
  memberId: string;
}

interface Placed {
  buyer: Buyer;
  key: string;
  code: string;
  orderId: string | null;
  attempts: number;
}

describe("fault injection: kill -9 of the order subgraph during a storm of direct orders", () => {
  let e: E2E;
  let db: pg.Pool;
  let buyers: Buyer[] = [];
  let skuId: string;

  beforeAll(async () => {
    e = await startE2E({
      env: { RATE_LIMIT_PER_MINUTE: "1000000", GATEWAY_CIRCUIT_COOLDOWN_MS: "1000", ORDER_PAYMENT_TIMEOUT_SECONDS: "3600" },
    });
    db = new pg.Pool({ connectionString: e.databases[0]!.url, max: 4 });
    const admin = await adminToken(e);
    buyers = await pool(
      Array.from({ length: MEMBERS }, (_, i) => i),
      4,
      async () => {
        const { phone, token } = await registerMemberPatiently(e, admin);
        const address = (
          await e.api.ok("AddAddress", { input: { receiver: "Li", phone, region: "Shanghai", detail: "1 Road", isDefault: true } }, token)
        ).addAddress as { id: string };
        const me = (await e.api.raw(`{ me { id } }`, {}, { token })).data as { me: { id: string } };
        return { token, addressId: address.id, memberId: me.me.id };
      },
    );
    const items = (await e.api.ok("SearchProducts", { query: { keyword: "", first: 20 } })).searchProducts.items as Array<{
      spuId: string;
    }>;
    for (const p of items) {
      const product = (await e.api.ok("Product", { id: p.spuId })).product as { skus: Array<{ id: string; stock: { available: number } }> };
      const sku = product.skus.find((s) => s.stock.available >= MEMBERS * ORDERS_EACH + 10);
      if (sku) {
        skuId = sku.id;
        break;
      }
    }
    expect(skuId).toBeTruthy();
  }, 600_000);

  afterAll(async () => {
    await db?.end();
    await e?.stop();
  });

  const stock = async () =>
    (
      await db.query<{ available: number; reserved: number; sold: number }>(
        `SELECT "available", "reserved", "sold" FROM "catalog"."Inventory" WHERE "skuId" = $1`,
        [skuId],
      )
    ).rows[0]!;

  /** One placement, repeated with the same key until the answer is final (or the deadline passes). */
  async function placeUntilAnswered(buyer: Buyer, key: string, onAnswer: () => void): Promise<Placed> {
    const until = Date.now() + 240_000;
    for (let attempts = 1; ; attempts++) {
      try {
        const r = await e.api.raw<{ placeOrder: { code: string; order: { id: string } | null } }>(
          PLACE,
          { input: { addressId: buyer.addressId, items: [{ skuId, quantity: 1 }], idempotencyKey: key } },
          { token: buyer.token },
        );
        if (r.data?.placeOrder) {
          onAnswer();
          return { buyer, key, code: r.data.placeOrder.code, orderId: r.data.placeOrder.order?.id ?? null, attempts };
        }
      } catch {
        /* the gateway itself answered nothing: ask again */
      }
      if (Date.now() > until) return { buyer, key, code: "NO_ANSWER", orderId: null, attempts };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("every accepted order exists exactly once, stock = initial − ordered, no run left unfinished", async () => {
    const initial = await stock();
    let answers = 0;
    let killedAt = -1;
    let pid: number | undefined;
    let killed: Promise<void> | undefined;
    const onAnswer = () => {
      answers++;
      if (answers === 8 && !killed)
        killed = (async () => {
          pid = e.stack.processes.get("order")?.pid;
          killedAt = answers;
          expect(await e.stack.kill("order", "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
          await new Promise((r) => setTimeout(r, 1000));
          await e.stack.restart("order");
        })();
    };
    const placed = (
      await Promise.all(
        buyers.map(async (b) => {
          const mine: Placed[] = [];
          for (let i = 0; i < ORDERS_EACH; i++) mine.push(await placeUntilAnswered(b, newKey(), onAnswer));
          return mine;
        }),
      )
    ).flat();
    await killed;
    console.log(
      `[faults] killed the order subgraph (pid ${pid}) with SIGKILL after ${killedAt} of ${MEMBERS * ORDERS_EACH} placements had answered, ${MEMBERS} clients placing at once; restarted it 1 s later`,
    );

    // the workers' sweep takes the dead runs once their lease ran out
    const unfinished = () =>
      db
        .query<{ n: string }>(`SELECT count(*) AS n FROM "order"."WorkflowRun" WHERE "status" IN ('RUNNING', 'COMPENSATING')`)
        .then((r) => Number(r.rows[0]!.n));
    const deadRuns = await unfinished();
    await waitFor(async () => (await unfinished()) === 0, "the sweep to finish every run", 180_000, 1000);

    const accepted = placed.filter((p) => p.code === "OK");
    expect(placed.filter((p) => p.code === "NO_ANSWER")).toEqual([]);
    expect(placed.map((p) => p.code).filter((c) => c !== "OK")).toEqual([]); // stock enough for every placement
    // every accepted order exists once, under its key; no other order of these buyers exists
    const orders = await db.query<{ id: string; buyerId: string; idempotencyKey: string; quantity: number }>(
      `SELECT o."id", o."buyerId", o."idempotencyKey", i."quantity" FROM "order"."Order" o JOIN "order"."OrderItem" i ON i."orderId" = o."id"
       WHERE o."buyerId" = ANY($1::text[])`,
      [buyers.map((b) => b.memberId)],
    );
    const byKey = new Map<string, number>();
    for (const o of orders.rows) byKey.set(`${o.buyerId}:${o.idempotencyKey}`, (byKey.get(`${o.buyerId}:${o.idempotencyKey}`) ?? 0) + 1);
    for (const a of accepted) expect(byKey.get(`${a.buyer.memberId}:${a.key}`), `order of key ${a.key}`).toBe(1);
    expect(orders.rows.length).toBe(accepted.length);
    expect(new Set(orders.rows.map((o) => o.id))).toEqual(new Set(accepted.map((a) => a.orderId)));
    // stock = initial − ordered: each order's reservation held, every other reservation released
    const ordered = orders.rows.reduce((s, o) => s + o.quantity, 0);
    const now = await stock();
    expect(now).toEqual({ available: initial.available - ordered, reserved: initial.reserved + ordered, sold: initial.sold });
    const orphans = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM "catalog"."Reservation" r WHERE r."status" = 'PENDING' AND r."key" LIKE 'order:%'
         AND NOT EXISTS (SELECT 1 FROM "order"."Order" o WHERE 'order:' || o."id" = r."key")`,
    );
    expect(Number(orphans.rows[0]!.n)).toBe(0);
    const runs = await db.query<{ status: string; n: string }>(
      `SELECT "status", count(*) AS n FROM "order"."WorkflowRun" GROUP BY 1 ORDER BY 1`,
    );
    const retried = placed.filter((p) => p.attempts > 1).length;
    console.log(
      `[faults] order subgraph killed mid storm — counted: ${accepted.length} accepted orders, each once (${retried} placements asked again after the kill), ${orders.rows.length} orders in PostgreSQL, stock ${initial.available} → ${now.available} available / ${now.reserved} reserved (${ordered} ordered); ${deadRuns} runs unfinished after the restart, finished by the sweep: ${runs.rows.map((r) => `${r.status} ${r.n}`).join(", ")}`,
    );
  }, 600_000);
});
