/** Pure logic: share splitting (property-style) and the draw lookup table's distribution. */
import { describe, expect, it } from "vitest";
import { splitShares, seededRandomInt, mulberry32, cryptoRandomInt } from "../src/services/split.ts";
import { buildTable, drawFrom, TABLE_SCALE } from "../src/services/table.ts";

describe("splitShares (double average)", () => {
  it("sums EXACTLY to the total, every share ≥ 1, over 3,000 random inputs", () => {
    const pick = seededRandomInt(20261122);
    for (let i = 0; i < 3000; i++) {
      const total = pick(1, i % 3 === 0 ? 1_000 : i % 3 === 1 ? 100_000 : 10_000_000_000);
      const shares = pick(1, Math.min(total, 2_000));
      const out = splitShares(total, shares, seededRandomInt(i));
      expect(out.length).toBe(shares);
      expect(out.reduce((s, x) => s + x, 0)).toBe(total);
      expect(out.every((x) => Number.isInteger(x) && x >= 1)).toBe(true);
    }
  });

  it("edge cases: one share, as many shares as minor units, crypto randomness", () => {
    expect(splitShares(500, 1)).toEqual([500]);
    expect(splitShares(7, 7)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const big = splitShares(100_000_000, 100_000, cryptoRandomInt);
    expect(big.reduce((s, x) => s + x, 0)).toBe(100_000_000);
    expect(Math.min(...big)).toBeGreaterThanOrEqual(1);
    // Double average: no share exceeds twice the average of what was left (first share ≤ 2 × avg).
    expect(big[0]!).toBeLessThanOrEqual(2000);
  });

  it("refuses impossible inputs", () => {
    expect(() => splitShares(5, 6)).toThrow(RangeError);
    expect(() => splitShares(0, 1)).toThrow(RangeError);
    expect(() => splitShares(10, 0)).toThrow(RangeError);
    expect(() => splitShares(10.5, 2)).toThrow(RangeError);
  });
});

describe("lookup table", () => {
  const awards = [
    { id: "a", rate: "0.6000" },
    { id: "b", rate: "0.2500" },
    { id: "c", rate: "0.1000" },
    { id: "d", rate: "0.0400" },
    { id: "e", rate: "0.0100" },
  ];

  it("has 10,000 slots split by rate", () => {
    const t = buildTable(awards);
    expect(t.slots.length).toBe(TABLE_SCALE);
    expect(t.slots.filter((x) => x === "e").length).toBe(100);
  });

  it("draws with the configured distribution (fixed-seed PRNG, 200,000 draws, ±0.4 %)", () => {
    const t = buildTable(awards);
    const rnd = mulberry32(42);
    const counts: Record<string, number> = {};
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const id = drawFrom(t, rnd());
      counts[id] = (counts[id] ?? 0) + 1;
    }
    for (const a of awards) expect(Math.abs(counts[a.id]! / N - Number(a.rate))).toBeLessThan(0.004);
  });

  it("a subset table renormalises (weight rule)", () => {
    const t = buildTable(awards.slice(2)); // 0.10 / 0.04 / 0.01 of 0.15
    expect(t.slots.length).toBe(1500);
    const rnd = mulberry32(7);
    let c = 0;
    for (let i = 0; i < 100_000; i++) if (drawFrom(t, rnd()) === "c") c++;
    expect(Math.abs(c / 100_000 - 10 / 15)).toBeLessThan(0.01);
  });

  it("refuses rates beyond 4 decimals, negative, or summing over 1", () => {
    expect(() => buildTable([{ id: "x", rate: "0.00005" }])).toThrow(RangeError);
    expect(() => buildTable([{ id: "x", rate: "-0.1" }])).toThrow(RangeError);
    expect(() =>
      buildTable([
        { id: "x", rate: "0.7" },
        { id: "y", rate: "0.4" },
      ]),
    ).toThrow(RangeError);
    expect(() => buildTable([{ id: "x", rate: "0" }])).toThrow(RangeError);
  });
});
