/**
 * The draw lookup table (pure): every award gets `rate × 10,000` slots (rates have 4 decimals), so a
 * draw is one random index — O(1) whatever the number of awards. A subset of awards (weight rule)
 * gets its own table whose size is the subset's slot sum (the rates renormalised).
 */
import { defined } from "@mallgraph/platform/errors";
import { Decimal } from "@mallgraph/platform/money";

export const TABLE_SCALE = 10_000;

export interface RatedAward {
  id: string;
  rate: string | { toString(): string };
}

export interface LookupTable {
  /** Award id per slot. */
  slots: string[];
}

export function slotsOf(rate: RatedAward["rate"]): number {
  const d = new Decimal(rate.toString()).times(TABLE_SCALE);
  if (!d.isInteger() || d.isNegative()) throw new RangeError(`rate ${rate} must be a multiple of 0.0001`);
  return d.toNumber();
}

export function buildTable(awards: RatedAward[]): LookupTable {
  const slots: string[] = [];
  for (const a of awards) {
    const n = slotsOf(a.rate);
    for (let i = 0; i < n; i++) slots.push(a.id);
  }
  if (slots.length === 0) throw new RangeError("a table needs at least one award with a positive rate");
  if (slots.length > TABLE_SCALE) throw new RangeError("rates sum to more than 1");
  return { slots };
}

/** One draw: `random` is a float in [0, 1). */
export function drawFrom(table: LookupTable, random: number): string {
  return defined(table.slots[Math.floor(random * table.slots.length)], "a slot of an empty lookup table");
}
