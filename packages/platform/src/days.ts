/**
 * The shop's calendar. A business day (daily quotas, sign-ins, reconciliation statements, daily
 * reports) is a calendar day in the shop's time zone, `SHOP_TIME_ZONE`, whatever the zone of the
 * machine or of the caller; scheduled jobs (BullMQ `tz`) use the same zone. Days are `YYYY-MM-DD`
 * strings. The functions take another IANA zone for tests and reports; they follow its offset at
 * each instant, so a day in a zone with daylight saving lasts 23 or 25 hours on the switch days.
 */
import { badInput } from "./errors.ts";

/** The shop's zone: China Standard Time (UTC+8, no daylight saving). */
export const SHOP_TIME_ZONE = "Asia/Shanghai";

const formats = new Map<string, Intl.DateTimeFormat>();
function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formats.set(zone, f);
  }
  return f;
}

/** The wall clock of `zone` at an instant, read as if it were UTC (ms). */
function wallClock(ms: number, zone: string): number {
  const p = Object.fromEntries(
    format(zone)
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
}

/** The business day (YYYY-MM-DD) of an instant. */
export function dayOf(at: Date | number, zone = SHOP_TIME_ZONE): string {
  const ms = typeof at === "number" ? at : at.getTime();
  return new Date(wallClock(Math.floor(ms / 1000) * 1000, zone)).toISOString().slice(0, 10);
}

/** The business month (YYYY-MM) of an instant. */
export function monthOf(at: Date | number, zone = SHOP_TIME_ZONE): string {
  return dayOf(at, zone).slice(0, 7);
}

/** Checks a day argument (a real calendar day written YYYY-MM-DD); BAD_USER_INPUT naming `field` otherwise. */
export function assertDay(date: string, field = "date"): string {
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(date) ||
    Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ||
    new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date
  ) {
    throw badInput(`${field} must be a day like 2026-11-22`, { field });
  }
  return date;
}

/** The day `n` days after (or before, n < 0) a day. */
export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The instant a day starts in `zone` (its first second, should midnight be skipped by a switch). */
function startOf(date: string, zone: string): number {
  const local = Date.parse(`${date}T00:00:00Z`);
  let t = local - (wallClock(local, zone) - local);
  t = local - (wallClock(t, zone) - t); // the offset at the guess may differ (a switch near midnight)
  return dayOf(t, zone) === date ? t : t + 3_600_000;
}

/** [start, end) of a business day as instants (checks the day first). */
export function dayRange(date: string, zone = SHOP_TIME_ZONE): [Date, Date] {
  assertDay(date);
  return [new Date(startOf(date, zone)), new Date(startOf(addDays(date, 1), zone))];
}
