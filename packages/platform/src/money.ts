/**
 * Exact money. Amounts travel as decimal strings ("12.50") with a currency code and are stored as
 * NUMERIC / Prisma Decimal; arithmetic uses decimal.js, never floats.
 */
import { Decimal } from "decimal.js";
import { badInput } from "./errors.ts";

export { Decimal };

/** Minor-unit digits of the ISO 4217 currencies every process knows without asking member. */
const ISO_DECIMALS: Readonly<Record<string, number>> = { CNY: 2, USD: 2, EUR: 2, HKD: 2, JPY: 0, KRW: 0 };
/** Currencies member's table adds (registerCurrency): the platform's table itself is never written. */
const registered = new Map<string, number>();

/** Makes a currency of member's table known to this process's money helpers (0 to 4 digits). */
export function registerCurrency(code: string, decimals: number): void {
  if (!/^[A-Z]{3}$/.test(code) || !Number.isInteger(decimals) || decimals < 0 || decimals > 4) {
    throw new Error(`bad currency ${code} with ${decimals} digits`);
  }
  registered.set(code, decimals);
}

export function currencyDecimals(currency: string): number {
  const d = registered.get(currency) ?? ISO_DECIMALS[currency];
  if (d === undefined) throw badInput(`unknown currency ${currency}`, { field: "currency" });
  return d;
}

const DECIMAL_RE = /^-?\d{1,15}(\.\d+)?$/;

/**
 * Parses a client-supplied amount: a decimal string with no more fraction digits than the
 * currency allows. Throws BAD_USER_INPUT otherwise.
 */
export function parseAmount(
  value: string,
  currency: string,
  opts: { field?: string; allowNegative?: boolean; allowZero?: boolean } = {},
): Decimal {
  const field = opts.field ?? "amount";
  const d = parseDecimalAmount(value, opts);
  const places = currencyDecimals(currency);
  if (d.decimalPlaces() > places) throw badInput(`${field} has more than ${places} decimal places for ${currency}`, { field });
  return d;
}

/**
 * parseAmount's checks that need no currency (a decimal string; sign and zero as allowed): for an
 * amount whose currency is known only later (an order's expected payable, priced by its reservation).
 */
export function parseDecimalAmount(value: string, opts: { field?: string; allowNegative?: boolean; allowZero?: boolean } = {}): Decimal {
  const field = opts.field ?? "amount";
  if (typeof value !== "string" || !DECIMAL_RE.test(value.trim()))
    throw badInput(`${field} must be a decimal string like "12.50"`, { field });
  const d = new Decimal(value.trim());
  if (!opts.allowNegative && d.isNegative()) throw badInput(`${field} must not be negative`, { field });
  if (!opts.allowZero && d.isZero()) throw badInput(`${field} must be greater than zero`, { field });
  return d;
}

/** Formats with exactly the currency's digits: formatAmount("12.5","CNY") → "12.50". */
export function formatAmount(value: Decimal.Value | { toString(): string }, currency: string): string {
  return new Decimal(value.toString()).toFixed(currencyDecimals(currency));
}
