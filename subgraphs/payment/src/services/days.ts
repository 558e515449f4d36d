/** Business days are Asia/Shanghai calendar days (UTC+8, no daylight saving). */
import { badInput } from "@mallgraph/platform/errors";

export const BUSINESS_TZ = "Asia/Shanghai";
const OFFSET_MS = 8 * 3600_000;

export function assertDay(date: string, field = "date"): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
    throw badInput(`${field} must be a day like 2026-11-22`, { field });
  }
  return date;
}

/** [start, end) of a business day as UTC instants. */
export function dayRange(date: string): [Date, Date] {
  assertDay(date);
  const start = new Date(Date.parse(`${date}T00:00:00Z`) - OFFSET_MS);
  return [start, new Date(start.getTime() + 24 * 3600_000)];
}

/** The business day of an instant. */
export function dayOf(d: Date): string {
  return new Date(d.getTime() + OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * 24 * 3600_000).toISOString().slice(0, 10);
}
