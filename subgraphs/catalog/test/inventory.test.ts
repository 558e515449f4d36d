import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers } from "../src/worker.ts";
import { ADMIN, INTERNAL, PROMOTION, errorCode, member, ok, startHarness, smallCatalog, type Harness } from "./helpers.ts";

const RESERVE = `mutation($key: String!, $lines: [StockLineInput!]!, $ttl: Int!) {
  inventoryReserve(key: $key, lines: $lines, ttlSeconds: $ttl) { code failedSkuId reservationId status expiresAt }
}`;
const RELEASE = `mutation($key: String!) { inventoryRelease(key: $key) }`;
const CONFIRM = `mutation($key: String!) { inventoryConfirm(key: $key) }`;
const INBOUND = `mutation($skuId: ID!, $q: Int!, $note: String) { adminInboundStock(skuId: $skuId, quantity: $q, note: $note) { available reserved sold } }`;

describe("inventory: inbound, reservations, release, confirm, expiry", () => {
  let h: Harness;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  let newSku: (stock: number) => Promise<string>;
  beforeAll(async () => {
    h = await startHarness({ poolSize: 10 });
    cat = await smallCatalog(h.services, { stock: 0, skus: 1 });
    let n = 0;
    newSku = async (stock: number) => {
      const s = await h.services.products.addSku(cat.product.id, {
        code: `INV-${n++}`,
        title: "inv",
        price: "1.00",
        currency: "CNY",
        initialStock: stock,
      });
      return s.id;
    };
  });
  afterAll(async () => {
    await h?.stop();
  });
  const stock = (skuId: string) => h.services.inventory.stock(skuId);
  const reserve = (key: string, lines: Array<{ skuId: string; quantity: number }>, ttl = 600) =>
    h.services.inventory.reserve(key, lines, ttl);

  it("inbound adds stock with a record; bad quantities and unknown SKUs are refused and write nothing", async () => {
    const sku = await newSku(0);
    expect(ok<any>(await h.gql(INBOUND, { skuId: sku, q: 25, note: "PO-1" }, ADMIN)).adminInboundStock).toEqual({
      available: 25,
      reserved: 0,
      sold: 0,
    });
    const records = await h.services.prisma.inboundRecord.count({ where: { skuId: sku } });
    expect(errorCode(await h.gql(INBOUND, { skuId: sku, q: -3 }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(INBOUND, { skuId: sku, q: 0 }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(INBOUND, { skuId: "nope", q: 3 }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(INBOUND, { skuId: sku, q: 3 }, member("m")))).toBe("UNAUTHENTICATED");
    // the int4 counter would overflow: a clear refusal, not a database error
    const big = await newSku(0);
    ok(await h.gql(INBOUND, { skuId: big, q: 1_000_000_000 }, ADMIN));
    ok(await h.gql(INBOUND, { skuId: big, q: 1_000_000_000 }, ADMIN));
    const overflow = await h.gql(INBOUND, { skuId: big, q: 1_000_000_000 }, ADMIN);
    expect(errorCode(overflow)).toBe("BAD_USER_INPUT");
    expect(overflow.errors![0]!.extensions!.reason).toBe("BAD_QUANTITY");
    expect(await stock(big)).toEqual({ available: 2_000_000_000, reserved: 0, sold: 0 });
    expect(await h.services.prisma.inboundRecord.count({ where: { skuId: big } })).toBe(2);
    expect(await h.services.prisma.inboundRecord.count({ where: { skuId: sku } })).toBe(records);
    expect(await stock(sku)).toEqual({ available: 25, reserved: 0, sold: 0 });
    // reserved / sold: operators only; available: everyone
    const sq = `query($id: ID!) { sku(id: $id) { stock { available reserved sold } } }`;
    expect(errorCode(await h.gql(sq, { id: sku }))).toBe("UNAUTHENTICATED");
    expect(ok<any>(await h.gql(`query($id: ID!) { sku(id: $id) { stock { available } } }`, { id: sku })).sku.stock).toEqual({
      available: 25,
    });
    expect(ok<any>(await h.gql(sq, { id: sku }, { kind: "admin", id: "w", permissions: ["catalog:write"] })).sku.stock).toEqual({
      available: 25,
      reserved: 0,
      sold: 0,
    });
    expect(errorCode(await h.gql(sq, { id: sku }, { kind: "admin", id: "x", permissions: ["member:read"] }))).toBe("FORBIDDEN");
    const list = ok<any>(await h.gql(`query($s: ID!) { inboundRecords(skuId: $s) { quantity note } }`, { s: sku }, ADMIN)).inboundRecords;
    expect(list).toEqual([{ quantity: 25, note: "PO-1" }]);
  });

  it("the database refuses negative stock even for a direct write (CHECK constraint)", async () => {
    const sku = await newSku(1);
    await expect(h.services.prisma.inventory.update({ where: { skuId: sku }, data: { available: { decrement: 2 } } })).rejects.toThrow();
    expect(await stock(sku)).toEqual({ available: 1, reserved: 0, sold: 0 });
  });

  it("internal fields: only for services", async () => {
    const sku = await newSku(5);
    expect(errorCode(await h.gql(RESERVE, { key: "k-auth", lines: [{ skuId: sku, quantity: 1 }], ttl: 60 }, member("m")))).toBe(
      "FORBIDDEN",
    );
    expect(errorCode(await h.gql(RELEASE, { key: "k-auth" }, ADMIN))).toBe("FORBIDDEN");
    const r = ok<any>(await h.gql(RESERVE, { key: "k-auth", lines: [{ skuId: sku, quantity: 2 }], ttl: 60 }, INTERNAL)).inventoryReserve;
    expect(r).toMatchObject({ code: "OK", status: "PENDING", failedSkuId: null });
    expect(new Date(r.expiresAt).getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(ok<any>(await h.gql(CONFIRM, { key: "k-auth" }, INTERNAL)).inventoryConfirm).toBe(true);
    expect(await stock(sku)).toEqual({ available: 3, reserved: 0, sold: 2 });
  });

  it("a reservation answers its SKUs' prices and display facts (first occurrence order) when OK, and none when refused", async () => {
    const a = await newSku(5);
    const b = await h.services.products.addSku(cat.product.id, {
      code: "INV-priced",
      title: "priced",
      price: "12.5",
      currency: "CNY",
      images: ["https://img.example/b.png"],
      initialStock: 3,
    });
    const q = `mutation($key: String!, $lines: [StockLineInput!]!) {
      inventoryReserve(key: $key, lines: $lines, ttlSeconds: 60) { code skus { skuId spuId title price currency image } }
    }`;
    const lines = [
      { skuId: b.id, quantity: 1 },
      { skuId: a, quantity: 2 },
      { skuId: b.id, quantity: 1 },
    ];
    const r = ok<any>(await h.gql(q, { key: "k-priced", lines }, INTERNAL)).inventoryReserve;
    const productImage = cat.product.images[0] ?? null;
    expect(r).toEqual({
      code: "OK",
      skus: [
        { skuId: b.id, spuId: cat.product.id, title: "priced", price: "12.50", currency: "CNY", image: "https://img.example/b.png" },
        { skuId: a, spuId: cat.product.id, title: "inv", price: "1.00", currency: "CNY", image: productImage },
      ],
    });
    // asked again with the same key: the same answer, nothing reserved twice
    expect(ok<any>(await h.gql(q, { key: "k-priced", lines }, INTERNAL)).inventoryReserve).toEqual(r);
    expect(await stock(b.id)).toEqual({ available: 1, reserved: 2, sold: 0 });
    const short = ok<any>(await h.gql(q, { key: "k-priced-short", lines: [{ skuId: a, quantity: 4 }] }, INTERNAL)).inventoryReserve;
    expect(short).toEqual({ code: "OUT_OF_STOCK", skus: null });
  });

  it("all lines or none: one short line reserves nothing", async () => {
    const a = await newSku(5);
    const b = await newSku(1);
    const r = await reserve("k-all-or-none", [
      { skuId: a, quantity: 2 },
      { skuId: b, quantity: 2 },
    ]);
    expect(r).toMatchObject({ code: "OUT_OF_STOCK", failedSkuId: b, reservationId: null });
    expect(await stock(a)).toEqual({ available: 5, reserved: 0, sold: 0 });
    expect(await stock(b)).toEqual({ available: 1, reserved: 0, sold: 0 });
    expect(await h.services.prisma.reservation.count({ where: { key: "k-all-or-none" } })).toBe(0);
    // same key later, with enough stock, succeeds
    expect(
      (
        await reserve("k-all-or-none", [
          { skuId: a, quantity: 2 },
          { skuId: b, quantity: 1 },
        ])
      ).code,
    ).toBe("OK");
    expect(await stock(a)).toEqual({ available: 3, reserved: 2, sold: 0 });
    expect(await stock(b)).toEqual({ available: 0, reserved: 1, sold: 0 });
  });

  it("codes: NOT_FOUND, OFF_SHELF, BAD_QUANTITY — nothing written", async () => {
    const a = await newSku(5);
    expect(
      await reserve("k-nf", [
        { skuId: a, quantity: 1 },
        { skuId: "nope", quantity: 1 },
      ]),
    ).toMatchObject({ code: "NOT_FOUND", failedSkuId: "nope" });
    expect(await reserve("k-bq", [{ skuId: a, quantity: 0 }])).toMatchObject({ code: "BAD_QUANTITY", failedSkuId: a });
    expect(await reserve("k-bq2", [{ skuId: a, quantity: -2 }])).toMatchObject({ code: "BAD_QUANTITY" });
    expect(await reserve("k-bq3", [])).toMatchObject({ code: "BAD_QUANTITY" });
    const draft = await h.services.products.create({
      title: "draft",
      categoryId: cat.leaf.id,
      skus: [{ code: "DRAFT-1", title: "d", price: "1", currency: "CNY", initialStock: 5 }],
    });
    expect(await reserve("k-off", [{ skuId: draft.skus[0]!.id, quantity: 1 }])).toMatchObject({
      code: "OFF_SHELF",
      failedSkuId: draft.skus[0]!.id,
    });
    expect(await stock(a)).toEqual({ available: 5, reserved: 0, sold: 0 });
    expect(errorCode(await h.gql(RESERVE, { key: "k-ttl", lines: [{ skuId: a, quantity: 1 }], ttl: 0 }, INTERNAL))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(RESERVE, { key: "", lines: [{ skuId: a, quantity: 1 }], ttl: 10 }, INTERNAL))).toBe("BAD_USER_INPUT");
    expect(
      await h.services.prisma.reservation.count({ where: { key: { in: ["k-nf", "k-bq", "k-bq2", "k-bq3", "k-off", "k-ttl"] } } }),
    ).toBe(0);
  });

  it("1,000 parallel reservations (quantity 1) against stock 100 → exactly 100 OK; available 0, reserved 100", async () => {
    const sku = await newSku(100);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => reserve(`storm-${i}`, [{ skuId: sku, quantity: 1 }])));
    const codes = results.reduce<Record<string, number>>((m, r) => ({ ...m, [r.code]: (m[r.code] ?? 0) + 1 }), {});
    expect(codes).toEqual({ OK: 100, OUT_OF_STOCK: 900 });
    expect(await stock(sku)).toEqual({ available: 0, reserved: 100, sold: 0 });
    expect(await h.services.prisma.reservation.count({ where: { key: { startsWith: "storm-" } } })).toBe(100);
  });

  it("idempotent per key under concurrency: 50 parallel calls with one key reserve once", async () => {
    const sku = await newSku(10);
    const results = await Promise.all(Array.from({ length: 50 }, () => reserve("same-key", [{ skuId: sku, quantity: 3 }])));
    expect(results.every((r) => r.code === "OK")).toBe(true);
    expect(new Set(results.map((r) => r.reservationId)).size).toBe(1);
    expect(await stock(sku)).toEqual({ available: 7, reserved: 3, sold: 0 });
  });

  it("release and confirm are idempotent under concurrency and exclusive of each other", async () => {
    const sku = await newSku(100);
    for (let i = 0; i < 10; i++) expect((await reserve(`rc-${i}`, [{ skuId: sku, quantity: 2 }])).code).toBe("OK");
    expect(await stock(sku)).toEqual({ available: 80, reserved: 20, sold: 0 });
    // 20 releases + 20 confirms racing per key
    const ops = [];
    for (let i = 0; i < 10; i++)
      for (let j = 0; j < 20; j++) {
        ops.push(h.services.inventory.releaseDetailed(`rc-${i}`));
        ops.push(h.services.inventory.confirmDetailed(`rc-${i}`));
      }
    const res = await Promise.all(ops);
    expect(res.filter((r) => r.changed)).toHaveLength(10); // exactly one winner per key
    const s = await stock(sku);
    expect(s.reserved).toBe(0);
    expect(s.available + s.sold).toBe(100);
    const confirmed = await h.services.prisma.reservation.count({ where: { key: { startsWith: "rc-" }, status: "CONFIRMED" } });
    expect(s.sold).toBe(confirmed * 2);
    // repeated calls change nothing and answer by the final state
    for (let i = 0; i < 10; i++) {
      const st = (await h.services.prisma.reservation.findUnique({ where: { key: `rc-${i}` } }))!.status;
      expect(await h.services.inventory.release(`rc-${i}`)).toBe(st === "RELEASED");
      expect(await h.services.inventory.confirm(`rc-${i}`)).toBe(st === "CONFIRMED");
    }
    expect(await stock(sku)).toEqual(s);
  });

  it("release of an unknown key leaves a tombstone: a late reserve under that key reserves nothing", async () => {
    const sku = await newSku(5);
    expect(await h.services.inventory.release("late-key")).toBe(true);
    expect(await reserve("late-key", [{ skuId: sku, quantity: 1 }])).toMatchObject({ code: "RELEASED", status: "RELEASED" });
    expect(await stock(sku)).toEqual({ available: 5, reserved: 0, sold: 0 });
    expect(await h.services.inventory.confirm("never-reserved")).toBe(false);
  });

  it("sales follow confirmed quantities", async () => {
    const before = (await h.services.prisma.spu.findUnique({ where: { id: cat.product.id } }))!.sales;
    const sku = await newSku(5);
    await reserve("sales-1", [{ skuId: sku, quantity: 4 }]);
    await h.services.inventory.confirm("sales-1");
    await h.services.inventory.confirm("sales-1");
    expect((await h.services.prisma.spu.findUnique({ where: { id: cat.product.id } }))!.sales).toBe(before + 4);
  });

  it("expired reservations are released by the inventory-reservations job", async () => {
    const sku = await newSku(10);
    expect((await reserve("exp-1", [{ skuId: sku, quantity: 4 }], 1)).code).toBe("OK");
    expect((await reserve("exp-2", [{ skuId: sku, quantity: 1 }], 3600)).code).toBe("OK");
    expect(await stock(sku)).toEqual({ available: 5, reserved: 5, sold: 0 });
    await new Promise((r) => setTimeout(r, 1100));
    const stop = await startWorkers(h.config, { databaseUrl: h.db.url, releaseEveryMs: 200, syncEveryMs: 60_000 });
    try {
      await waitFor(async () => (await stock(sku)).reserved === 1, "the expired reservation's release", 30_000, 100);
    } finally {
      await stop();
    }
    expect(await stock(sku)).toEqual({ available: 9, reserved: 1, sold: 0 });
    expect((await h.services.prisma.reservation.findUnique({ where: { key: "exp-1" } }))!.status).toBe("RELEASED");
    expect((await h.services.prisma.reservation.findUnique({ where: { key: "exp-2" } }))!.status).toBe("PENDING");
    // a confirm after the time-out release is refused (false), stock unchanged
    expect(await h.services.inventory.confirm("exp-1")).toBe(false);
    expect(await stock(sku)).toEqual({ available: 9, reserved: 1, sold: 0 });
  });
  it("inventoryReturn gives sold stock back once per key (seckill allocations' unsold rest), refuses more than was sold", async () => {
    const RETURN = `mutation($key: String!, $s: ID!, $q: Int!) { inventoryReturn(key: $key, skuId: $s, quantity: $q) }`;
    const sku = await newSku(10);
    await reserve("alloc-1", [{ skuId: sku, quantity: 6 }]);
    await h.services.inventory.confirm("alloc-1");
    expect(await stock(sku)).toEqual({ available: 4, reserved: 0, sold: 6 });
    expect(ok<any>(await h.gql(RETURN, { key: "ret-1", s: sku, q: 2 }, PROMOTION)).inventoryReturn).toBe(true);
    expect(ok<any>(await h.gql(RETURN, { key: "ret-1", s: sku, q: 2 }, PROMOTION)).inventoryReturn).toBe(true);
    expect(await stock(sku)).toEqual({ available: 6, reserved: 0, sold: 4 });
    // parallel repeats of one key move the stock once
    const many = await Promise.all(Array.from({ length: 10 }, () => h.services.inventory.returnSold("ret-2", sku, 1)));
    expect(many.every(Boolean)).toBe(true);
    expect(await stock(sku)).toEqual({ available: 7, reserved: 0, sold: 3 });
    // more than sold: false, nothing written (the key stays unused)
    expect(ok<any>(await h.gql(RETURN, { key: "ret-3", s: sku, q: 4 }, PROMOTION)).inventoryReturn).toBe(false);
    expect(await stock(sku)).toEqual({ available: 7, reserved: 0, sold: 3 });
    expect(await h.services.prisma.reservation.findUnique({ where: { key: "return:ret-3" } })).toBeNull();
    expect(errorCode(await h.gql(RETURN, { key: "ret-4", s: sku, q: 0 }, PROMOTION))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(RETURN, { key: "ret-4", s: "nope", q: 1 }, PROMOTION))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(RETURN, { key: "ret-4", s: sku, q: 1 }, member("m")))).toBe("FORBIDDEN");
  });
});
