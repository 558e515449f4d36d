/** The shop's calendar (days.ts): business days in the shop's zone, around midnight and daylight-saving switches. */
import { describe, expect, it } from "vitest";
import { addDays, assertDay, dayOf, dayRange, monthOf, SHOP_TIME_ZONE } from "../src/days.ts";

const at = (iso: string) => new Date(iso);
const hours = ([start, end]: [Date, Date]) => (end.getTime() - start.getTime()) / 3_600_000;

describe("business days", () => {
  it("are Asia/Shanghai days (UTC+8) whatever the instant's form: 16:00 UTC is the next day's midnight", () => {
    expect(SHOP_TIME_ZONE).toBe("Asia/Shanghai");
    expect(dayOf(at("2026-11-29T15:59:59.999Z"))).toBe("2026-11-29");
    expect(dayOf(at("2026-11-29T16:00:00.000Z"))).toBe("2026-11-30");
    expect(dayOf(Date.parse("2026-11-29T16:00:00.000Z"))).toBe("2026-11-30");
    expect(dayOf(at("2026-12-31T16:00:00Z"))).toBe("2027-01-01");
    expect(monthOf(at("2026-11-30T16:00:00Z"))).toBe("2026-12");
    expect(monthOf(at("2026-11-30T15:59:59Z"))).toBe("2026-11");
  });

  it("a day's range is [its midnight, the next midnight) in the zone, and every instant in it has that day", () => {
    const [start, end] = dayRange("2026-11-30");
    expect([start.toISOString(), end.toISOString()]).toEqual(["2026-11-29T16:00:00.000Z", "2026-11-30T16:00:00.000Z"]);
    expect([dayOf(start), dayOf(end.getTime() - 1), dayOf(end)]).toEqual(["2026-11-30", "2026-11-30", "2026-12-01"]);
    expect(dayRange("2026-11-30", "UTC").map((d) => d.toISOString())).toEqual(["2026-11-30T00:00:00.000Z", "2026-12-01T00:00:00.000Z"]);
  });

  it("follows daylight saving in a zone that has it: 23 and 25 hour days, midnight at the right offset", () => {
    const spring = dayRange("2026-03-08", "America/New_York");
    expect(spring[0].toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(hours(spring)).toBe(23);
    const autumn = dayRange("2026-11-01", "America/New_York");
    expect(autumn[0].toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(hours(autumn)).toBe(25);
    expect(dayOf(at("2026-11-02T04:59:59Z"), "America/New_York")).toBe("2026-11-01");
    expect(dayOf(at("2026-11-02T05:00:00Z"), "America/New_York")).toBe("2026-11-02");
    // Chile skips midnight (24:00 → 01:00): the day starts at its first existing instant
    const skipped = dayRange("2026-09-06", "America/Santiago");
    expect(dayOf(skipped[0], "America/Santiago")).toBe("2026-09-06");
    expect(dayOf(skipped[0].getTime() - 1, "America/Santiago")).toBe("2026-09-05");
    expect(hours(skipped)).toBe(23);
  });

  it("checks day arguments and counts days across months and years", () => {
    expect(assertDay("2026-02-28")).toBe("2026-02-28");
    for (const bad of ["2026-02-30", "2026-2-1", "yesterday", "2026-11-30T00:00"])
      expect(() => assertDay(bad, "day")).toThrow(/day must be a day/);
    expect([addDays("2026-12-31", 1), addDays("2026-03-01", -1), addDays("2028-02-28", 1)]).toEqual([
      "2027-01-01",
      "2026-02-28",
      "2028-02-29",
    ]);
  });
});
