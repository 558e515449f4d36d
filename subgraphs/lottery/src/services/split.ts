/**
 * Splitting a red-envelope total into random shares ("double average" method), pure: every share
 * is at least 1 minor unit, at most twice the average of what is left, and the shares sum to the
 * total EXACTLY. Works in integer minor units (Number is exact up to 2^53; totals are capped far
 * below that).
 */
import { randomInt } from "node:crypto";

/** Random integer in [min, max] (inclusive). */
export type RandomInt = (min: number, max: number) => number;

export const cryptoRandomInt: RandomInt = (min, max) => (min === max ? min : randomInt(min, max + 1));

export const MAX_MINOR_TOTAL = 2 ** 48;

export function splitShares(totalMinor: number, shares: number, rnd: RandomInt = cryptoRandomInt): number[] {
  if (!Number.isSafeInteger(totalMinor) || totalMinor <= 0 || totalMinor > MAX_MINOR_TOTAL) throw new RangeError("total out of range");
  if (!Number.isSafeInteger(shares) || shares < 1 || shares > totalMinor) throw new RangeError("shares out of range");
  const out = new Array<number>(shares);
  let left = totalMinor;
  for (let n = shares; n > 1; n--) {
    // Leave at least 1 minor unit for each of the n-1 shares after this one.
    const max = Math.min(Math.floor((2 * left) / n), left - (n - 1));
    const share = rnd(1, Math.max(1, max));
    out[shares - n] = share;
    left -= share;
  }
  out[shares - 1] = left;
  return out;
}

/** A small deterministic PRNG (mulberry32) for tests and seeded draws: floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededRandomInt(seed: number): RandomInt {
  const next = mulberry32(seed);
  return (min, max) => min + Math.floor(next() * (max - min + 1));
}
