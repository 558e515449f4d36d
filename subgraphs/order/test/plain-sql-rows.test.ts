/**
 * The rows order's hand-written SQL writes, against Prisma's (decisions 0035, 0036). Those statements
 * name their columns and leave the rest to the database; Prisma's create fills some itself
 * (`@updatedAt`, `@default(uuid())`…). A model change that gives a left-out column a default only
 * Prisma applies, or a different one, shows here as a field that differs:
 *   - the seckill batch's order (one statement, json_to_recordset) equals the order `createSeckill`
 *     makes through Prisma for the same reservation data;
 *   - a placed order (one CTE) equals the order Prisma's create makes from the same values for the
 *     columns the statement names (read from its source), and the placement's answer (built from what
 *     was written, not read back) equals the order read back.
 * test/domains/hand-written-sql.test.ts checks every hand-written INSERT's column list against the
 * migrated tables.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../src/generated/prisma/client.ts";
import { startOrderEnv, type OrderEnv } from "./support/env.ts";
import { internal } from "./support/fakes.ts";

const BATCH = `mutation($o: [SeckillOrderInput!]!) { orderCreateSeckillBatch(orders: $o) { code orderId status } }`;
const CREATE = `mutation($r: ID!, $b: ID!, $s: ID!, $q: Int!, $p: String!, $c: String!) {
  orderCreateSeckill(reservationId: $r, buyerId: $b, skuId: $s, quantity: $q, unitPrice: $p, currency: $c) { code orderId status }
}`;
const ORDER_FIELDS = `id orderNo buyerId status kind itemsTotal discount payable refundedAmount currency note paymentMethod couponId paymentId
  createdAt expiresAt paidAt shippedAt completedAt cancelledAt cancelReason address { id receiver phone region detail }
  items { skuId title image price quantity subtotal discount payable afterSaleQuantity }`;

type Row = Record<string, unknown>;

/** An order with its lines and history as Prisma reads it, minus what names this one row (ids, numbers, keys, instants). */
function comparable(o: Row & { items: Row[]; history: Row[] }): Row {
  const {
    id: _id,
    orderNo: _no,
    idempotencyKey: _k,
    seckillReservationId: _s,
    reservationKey: _r,
    createdAt: _c,
    updatedAt: _u,
    expiresAt: _e,
    ...rest
  } = o;
  return {
    ...rest,
    items: o.items.map(({ id: _i, orderId: _o, ...l }) => l),
    history: o.history.map(({ id: _i, orderId: _o, createdAt: _t, ...h }) => h),
  };
}

/** The column lists of a source file's `INSERT INTO "<table>" (…)` statements. */
function insertColumns(file: string, table: string): string[] {
  const src = readFileSync(path.join(import.meta.dirname, "..", "src", file), "utf8");
  const m = src.match(new RegExp(`INSERT INTO "${table}" \\(([^)]*)\\)`));
  if (!m) throw new Error(`no INSERT INTO "${table}" in ${file}`);
  return m[1]!.split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
}

const pick = (row: Row, columns: string[]) => Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]]));

describe("order's plain-SQL rows equal Prisma's", () => {
  let env: OrderEnv;
  const read = (id: string) =>
    env.order.services.prisma.order.findUniqueOrThrow({
      where: { id },
      include: { items: { orderBy: { skuId: "asc" } }, history: true },
    });

  beforeAll(async () => {
    env = await startOrderEnv();
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: 100 });
    env.catalog.put({ id: "cup", title: "Cup", price: "0.10", available: 100 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("a seckill order from the batch statement equals the one createSeckill writes through Prisma", async () => {
    const input = { buyerId: "sk-buyer", skuId: "tea", quantity: 3, unitPrice: "9.90", currency: "CNY" };
    const batch = await env.call(BATCH, { o: [{ reservationId: "rows-batch", ...input }] }, internal("promotion"));
    expect(batch.errors).toBeUndefined();
    const single = await env.call(
      CREATE,
      { r: "rows-single", b: input.buyerId, s: input.skuId, q: input.quantity, p: input.unitPrice, c: input.currency },
      internal("promotion"),
    );
    expect(single.errors).toBeUndefined();
    const viaSql = await read(batch.data.orderCreateSeckillBatch[0].orderId);
    const viaPrisma = await read(single.data.orderCreateSeckill.orderId);
    expect(comparable(viaSql)).toEqual(comparable(viaPrisma));
    expect(viaSql.payable.toString()).toBe("29.7");
    // the instants: the statement's own, as Prisma writes them (UTC, ms)
    expect(viaSql.updatedAt).toEqual(viaSql.createdAt);
    expect(viaSql.history[0]!.createdAt).toEqual(viaSql.createdAt);
    expect(Math.abs(viaSql.createdAt.getTime() - viaPrisma.createdAt.getTime())).toBeLessThan(60_000);
    expect(viaSql.expiresAt.getTime() - viaSql.createdAt.getTime()).toBe(env.config.SECKILL_PAYMENT_TIMEOUT_SECONDS * 1000);
  });

  it("a placed order equals what Prisma's create makes from the columns the placement names; the answer equals the order read back", async () => {
    const buyer = "rows-buyer";
    const addressId = env.memberSg.addAddress(buyer).id;
    const placed = await env.call(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { ${ORDER_FIELDS} } } }`,
      {
        input: {
          addressId,
          items: [
            { skuId: "tea", quantity: 2 },
            { skuId: "cup", quantity: 5 },
          ],
          note: "ring twice",
          paymentMethod: "SANDBOX",
        },
      },
      buyer,
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.data.placeOrder.code).toBe("OK");
    const answer = placed.data.placeOrder.order;
    // the answer is built from what was written: a read gives the same
    const readBack = await env.call(`query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id: answer.id }, buyer);
    expect(readBack.data.order).toEqual(answer);

    const written = await read(answer.id);
    const columns = {
      order: insertColumns("workflows/placeOrder.ts", "Order"),
      item: insertColumns("workflows/placeOrder.ts", "OrderItem"),
      change: insertColumns("workflows/placeOrder.ts", "OrderStatusChange"),
    };
    // the same values for the named columns (new ids and keys); the rest is Prisma's to fill
    const id = randomUUID();
    await env.order.services.prisma.order.create({
      data: {
        ...(pick(written, columns.order) as Prisma.OrderCreateInput),
        address: written.address as Prisma.InputJsonValue,
        id,
        orderNo: `rows-${id.slice(0, 8)}`,
        idempotencyKey: randomUUID(),
        items: {
          create: written.items.map((l) => ({
            ...(pick(l, columns.item) as Prisma.OrderItemCreateWithoutOrderInput),
            orderId: undefined,
            id: randomUUID(),
          })),
        },
        history: {
          create: written.history.map((h) => ({
            ...(pick(h, columns.change) as Prisma.OrderStatusChangeCreateWithoutOrderInput),
            orderId: undefined,
            id: randomUUID(),
          })),
        },
      },
    });
    const viaPrisma = await read(id);
    expect(comparable(written)).toEqual(comparable(viaPrisma));
    expect(written.updatedAt).toEqual(written.createdAt);
    expect(written.history[0]!.createdAt).toEqual(written.createdAt);
  });
});
