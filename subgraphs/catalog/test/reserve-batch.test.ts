/**
 * Decision 0055: the reservations asked in one turn of the event loop go to PostgreSQL as one
 * statement, each answered exactly as it would be alone; a statement that fails as a whole runs each
 * reservation on its own; under a storm of overlapping several-SKU reservations the counts stay exact.
 */
import type { PgSql } from "@mallgraph/platform/pg-sql";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService, type StockLine } from "../src/services/inventory.ts";
import { smallCatalog, startHarness, type Harness } from "./helpers.ts";

describe("reservations in batches (decision 0055)", () => {
  let h: Harness;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  let n = 0;
  const newSku = async (stock: number, price = "1.00") =>
    (await h.services.products.addSku(cat.product.id, { code: `RB-${n++}`, title: "rb", price, currency: "CNY", initialStock: stock })).id;
  const stock = (skuId: string) => h.services.inventory.stock(skuId);

  /** An inventory service whose plain SQL is the harness's, with every statement's text recorded. */
  function recorded(opts: { batchReservations?: boolean } = { batchReservations: true }) {
    const texts: string[] = [];
    const sql = h.services.deps.sql;
    const spy: PgSql = Object.assign(Object.create(sql) as PgSql, {
      $queryRawUnsafe: (text: string, ...values: unknown[]) => {
        texts.push(text);
        return sql.$queryRawUnsafe(text, ...values);
      },
    });
    const inventory = new InventoryService({ ...h.services.deps, sql: spy }, h.services.products.live, opts);
    const reserveTexts = () => texts.filter((t) => t.includes("catalog_reserve"));
    return { inventory, reserveTexts };
  }

  beforeAll(async () => {
    h = await startHarness({ poolSize: 10 });
    cat = await smallCatalog(h.services, { stock: 0, skus: 1 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("one turn's reservations are one statement; each answers as it would alone (stock, all-or-none, repeats, tombstones, unknown SKUs)", async () => {
    const scarce = await newSku(2, "12.50");
    const partner = await newSku(10);
    const short = await newSku(3);
    const repeated = await newSku(5);
    await h.services.inventory.reserve("rb-earlier", [{ skuId: repeated, quantity: 1 }], 600);
    await h.services.inventory.release("rb-tombstone");
    const { inventory, reserveTexts } = recorded();
    const asks: Array<[string, StockLine[]]> = [
      ["rb-s1", [{ skuId: scarce, quantity: 1 }]],
      ["rb-s2", [{ skuId: scarce, quantity: 1 }]],
      ["rb-s3", [{ skuId: scarce, quantity: 1 }]],
      [
        "rb-short",
        [
          { skuId: partner, quantity: 1 },
          { skuId: short, quantity: 5 },
        ],
      ],
      ["rb-unknown", [{ skuId: "no-such-sku", quantity: 1 }]],
      ["rb-dup", [{ skuId: repeated, quantity: 2 }]],
      ["rb-dup", [{ skuId: repeated, quantity: 2 }]],
      ["rb-earlier", [{ skuId: repeated, quantity: 1 }]],
      ["rb-tombstone", [{ skuId: repeated, quantity: 1 }]],
    ];
    const answers = await Promise.all(asks.map(([key, lines]) => inventory.reserve(key, lines, 600)));
    expect(reserveTexts()).toHaveLength(1);
    expect(reserveTexts()[0]).toContain("jsonb_array_elements");

    const codes = answers.map((a, i) => [asks[i]![0], a.code, a.failedSkuId]);
    expect(codes.slice(0, 3).filter(([, c]) => c === "OK")).toHaveLength(2); // stock 2: exactly two of three
    expect(codes.slice(0, 3).filter(([, c, f]) => c === "OUT_OF_STOCK" && f === scarce)).toHaveLength(1);
    expect(codes.slice(3)).toEqual([
      ["rb-short", "OUT_OF_STOCK", short],
      ["rb-unknown", "NOT_FOUND", "no-such-sku"],
      ["rb-dup", "OK", null],
      ["rb-dup", "OK", null],
      ["rb-earlier", "OK", null],
      ["rb-tombstone", "RELEASED", null],
    ]);
    expect(answers[5]!.reservationId).toBe(answers[6]!.reservationId);
    const ok = answers.find((a) => a.code === "OK" && a.skus?.[0]?.skuId === scarce)!;
    expect(ok.skus).toEqual([expect.objectContaining({ skuId: scarce, spuId: cat.product.id, price: "12.50", currency: "CNY" })]);
    expect(answers.filter((a) => a.code !== "OK").map((a) => a.skus)).toEqual([null, null, null, null]);
    // a tombstone answers the released reservation's id, as alone
    expect(answers[8]!.reservationId).toEqual(expect.any(String));

    expect(await stock(scarce)).toEqual({ available: 0, reserved: 2, sold: 0 });
    expect(await stock(partner)).toEqual({ available: 10, reserved: 0, sold: 0 }); // all lines or none
    expect(await stock(short)).toEqual({ available: 3, reserved: 0, sold: 0 });
    expect(await stock(repeated)).toEqual({ available: 2, reserved: 3, sold: 0 }); // earlier 1 + dup 2 once
  });

  it("CATALOG_RESERVE_BATCH=off, or batchReservations: false: one statement per reservation, the same answers", async () => {
    for (const how of ["option", "environment"] as const) {
      const sku = await newSku(2);
      if (how === "environment") process.env.CATALOG_RESERVE_BATCH = "off";
      try {
        const { inventory, reserveTexts } = recorded(how === "option" ? { batchReservations: false } : {});
        const answers = await Promise.all(
          ["off-1", "off-2", "off-3"].map((k) => inventory.reserve(`${how}-${k}`, [{ skuId: sku, quantity: 1 }], 600)),
        );
        expect(reserveTexts()).toHaveLength(3);
        expect(reserveTexts().some((t) => t.includes("jsonb_array_elements"))).toBe(false);
        expect(answers.map((a) => a.code).sort()).toEqual(["OK", "OK", "OUT_OF_STOCK"]);
        expect(await stock(sku)).toEqual({ available: 0, reserved: 2, sold: 0 });
      } finally {
        delete process.env.CATALOG_RESERVE_BATCH;
      }
    }
  });

  it("a batch statement that fails as a whole keeps nothing; each reservation then runs alone and only the failing one fails", async () => {
    const sku = await newSku(10);
    const sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    const table = `"${h.db.schema}"."Reservation"`;
    try {
      // what PostgreSQL does to one of two batches that wait on each other: the statement fails (40P01)
      await sql.query(`CREATE FUNCTION "${h.db.schema}".doomed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW."key" = 'rb-doomed' THEN RAISE deadlock_detected USING MESSAGE = 'deadlock detected (test)'; END IF;
          RETURN NEW;
        END $$`);
      await sql.query(`CREATE TRIGGER doomed BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION "${h.db.schema}".doomed()`);
      const { inventory, reserveTexts } = recorded();
      const answers = await Promise.allSettled(
        ["rb-f1", "rb-doomed", "rb-f2"].map((k) => inventory.reserve(k, [{ skuId: sku, quantity: 2 }], 600)),
      );
      expect(reserveTexts()).toHaveLength(4); // the batch, then each alone
      expect(answers.map((a) => (a.status === "fulfilled" ? a.value.code : "rejected"))).toEqual(["OK", "rejected", "OK"]);
      expect(String((answers[1] as PromiseRejectedResult).reason)).toContain("deadlock detected (test)");
      expect(await stock(sku)).toEqual({ available: 6, reserved: 4, sold: 0 });
      expect(await h.services.prisma.reservation.count({ where: { key: { in: ["rb-f1", "rb-f2", "rb-doomed"] } } })).toBe(2);
    } finally {
      await sql.query(`DROP TRIGGER IF EXISTS doomed ON ${table}`);
      await sql.query(`DROP FUNCTION IF EXISTS "${h.db.schema}".doomed()`);
      await sql.end();
    }
  });

  it(
    "3,000 parallel reservations of 1–3 of 24 SKUs in either order (concurrent batches contend for rows): the counts stay exact",
    { timeout: 120_000 },
    async () => {
      // two scarce SKUs (refusals), the others plentiful: nearly every reservation locks its rows until its batch commits
      const initial = Array.from({ length: 24 }, (_, i) => (i < 2 ? 150 : 100_000));
      const skus = await Promise.all(initial.map((s) => newSku(s)));
      // deterministic mix: lines on SKUs i, i·7+3 and i·13+5 (mod 24), in ascending and descending SKU orders
      const asks = Array.from({ length: 3000 }, (_, i) => {
        const picks = [...new Set([i % 24, (i * 7 + 3) % 24, (i * 13 + 5) % 24])].slice(0, 1 + (i % 3));
        const lines = picks.map((p, j) => ({ skuId: skus[p]!, quantity: 1 + ((i + j) % 2) }));
        return { key: `rb-storm-${i}`, lines: i % 2 ? lines.reverse() : lines };
      });
      const answers = await Promise.all(asks.map((a) => h.services.inventory.reserve(a.key, a.lines, 600)));
      expect(new Set(answers.map((a) => a.code))).toEqual(new Set(["OK", "OUT_OF_STOCK"]));
      const reservedBySku = new Map(skus.map((s) => [s, 0]));
      answers.forEach((a, i) => {
        if (a.code === "OK") for (const l of asks[i]!.lines) reservedBySku.set(l.skuId, reservedBySku.get(l.skuId)! + l.quantity);
      });
      for (const [i, sku] of skus.entries()) {
        const s = await stock(sku);
        expect(s.reserved).toBe(reservedBySku.get(sku));
        expect(s.available + s.reserved).toBe(initial[i]);
        expect(s.available).toBeGreaterThanOrEqual(0);
      }
      const okCount = answers.filter((a) => a.code === "OK").length;
      expect(okCount).toBeGreaterThan(0);
      expect(await h.services.prisma.reservation.count({ where: { key: { startsWith: "rb-storm-" }, status: "PENDING" } })).toBe(okCount);
      expect(await h.services.prisma.reservationLine.count({ where: { reservation: { key: { startsWith: "rb-storm-" } } } })).toBe(
        answers.reduce((sum, a, i) => sum + (a.code === "OK" ? asks[i]!.lines.length : 0), 0),
      );
    },
  );
});
