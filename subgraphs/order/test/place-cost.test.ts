/**
 * What one direct order costs the order schema: SQL statements sent through Prisma or as plain SQL on
 * its pool (mg_prisma_queries_total of the suite's schema), counted over sequential orders after a
 * warm-up. The durable workflow (decision 0031) may add at most one write per run to the hot path:
 * its run row, recorded before the first remote step; the step results ride in the order's own
 * transaction.
 */
import { dbQueries, redisCommands } from "@mallgraph/platform/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrderEnv, PLACE, type OrderEnv } from "./support/env.ts";

async function statements(schema: string): Promise<{ query: number; execute: number }> {
  const { values } = await dbQueries.get();
  const of = (kind: string) => values.find((v) => v.labels.schema === schema && v.labels.kind === kind)?.value ?? 0;
  return { query: of("query"), execute: of("execute") };
}

/** Redis commands sent by this process (every connection, the outbox relay's BullMQ queue included), by command. */
async function commands(): Promise<Map<string, number>> {
  const { values } = await redisCommands.get();
  return new Map(values.map((v) => [String(v.labels.command), v.value]));
}

describe("the hot path of a direct order", () => {
  let env: OrderEnv;
  beforeAll(async () => {
    env = await startOrderEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("counts the order schema's statements per placed order", async () => {
    const buyer = "cost-buyer";
    const addressId = env.memberSg.addAddress(buyer).id;
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: 1000 });
    const place = async (i: number) => {
      const r = await env.call(PLACE, { input: { addressId, items: [{ skuId: "tea", quantity: 1 }], idempotencyKey: `cost-${i}` } }, buyer);
      expect(r.data?.placeOrder.code).toBe("OK");
    };
    for (let i = 0; i < 3; i++) await place(i); // warm-up (connections, prepared plans)
    const N = 20;
    const before = await statements(env.db.schema);
    const sentBefore = await commands();
    for (let i = 3; i < 3 + N; i++) await place(i);
    const after = await statements(env.db.schema);
    const sent = await commands();
    const redisPerOrder = Object.fromEntries(
      [...sent].map(([c, n]) => [c, (n - (sentBefore.get(c) ?? 0)) / N] as const).filter(([, n]) => n > 0),
    );
    console.log(`Redis commands per direct order: ${JSON.stringify(redisPerOrder)}`);
    const perOrder = { query: (after.query - before.query) / N, execute: (after.execute - before.execute) / N };
    console.log(`order schema statements per direct order: ${JSON.stringify(perOrder)}`);
    // 15 before the durable workflow; the run adds its insert and an update inside the order's own
    // transaction, and the status event through the job outbox took two away (decision 0031). On
    // plain SQL (decision 0035): one idempotency look-up, the run's insert, BEGIN, the order's rows
    // in one statement, the outbox row, the run's record, COMMIT, no read-back; the rest is the
    // outbox relay's share (BEGIN and COMMIT are counted now, Prisma counted neither BEGIN). One
    // statement for the order (decision 0046): the run's record, the order's rows and the outbox
    // row in one autocommitted statement instead of BEGIN, three writes and COMMIT — 11 → 7 with
    // the relay's four (sequential orders: one relay run each). No idempotency look-up of its own
    // (decision 0050): the run's insert refuses a key that placed an order already — 7 → 6 (half a
    // statement of slack for a relay run repeated)
    expect(perOrder.query + perOrder.execute).toBeLessThanOrEqual(6.5);
    // Redis: the submission lock (SET NX) with the seckill flags (SMISMEMBER) and the order number (one
    // EVALSHA) in one auto-pipelined write, the lock's release (EVALSHA); the relay's job for the status
    // event. No payment time-out job per order (decision 0051): no BullMQ script of the placement's own.
    expect(redisPerOrder.set).toBe(1);
    expect(redisPerOrder.smismember).toBe(1);
    expect(redisPerOrder.evalsha ?? 0).toBeLessThanOrEqual(3.5);
  });
});
