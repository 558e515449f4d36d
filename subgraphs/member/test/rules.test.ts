import { describe, expect, it } from "vitest";
import { PERMISSION_NAMES, isPermission } from "../src/permissions.ts";
import { hashPassword, verifyPassword } from "../src/services/password.ts";
import { pickProvider } from "../src/services/providers.ts";
import { assertPhone, dayWindow, deviceOf, hashToken, isLocked, newOpaqueToken, newSmsCode } from "../src/services/rules.ts";
import { renderTemplate } from "../src/services/templates.ts";

describe("pure rules", () => {
  it("accepts mainland mobiles only", () => {
    expect(assertPhone("13800138000")).toBe("13800138000");
    for (const bad of ["12800138000", "1380013800", "138001380001", "+8613800138000", "abc", ""])
      expect(() => assertPhone(bad)).toThrow(/mobile/);
  });

  it("the lock day is China's calendar day and ends at its midnight", () => {
    // 2026-11-22 15:59:59 UTC = 23:59:59 in UTC+8; one second later is the next day there.
    const t = Date.UTC(2026, 10, 22, 15, 59, 59);
    expect(dayWindow(t)).toEqual({ day: "20261122", endsAtMs: Date.UTC(2026, 10, 22, 16, 0, 0) });
    expect(dayWindow(t + 1000).day).toBe("20261123");
    expect(dayWindow(Date.UTC(2026, 11, 31, 16, 30)).day).toBe("20270101");
    expect(dayWindow(Date.UTC(2026, 0, 1, 0, 0), 0)).toEqual({ day: "20260101", endsAtMs: Date.UTC(2026, 0, 2) });
  });

  it("locks at the fifth failure", () => {
    expect([0, 1, 4, 5, 6].map((n) => isLocked(n))).toEqual([false, false, false, true, true]);
  });

  it("codes are 6 digits, tokens opaque, stored hashed", () => {
    for (let i = 0; i < 200; i++) expect(newSmsCode()).toMatch(/^\d{6}$/);
    const t = newOpaqueToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).not.toContain(t);
    expect(newOpaqueToken()).not.toBe(t);
  });

  it("device defaults to WEB and rejects unknown types", () => {
    expect(deviceOf(undefined)).toBe("WEB");
    expect(deviceOf("APP")).toBe("APP");
    expect(() => deviceOf("TV")).toThrow(/device/);
  });

  it("scrypt hashes are salted, carry their parameters and verify", async () => {
    const a = await hashPassword("s3cret-pass");
    const b = await hashPassword("s3cret-pass");
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret");
    expect(await verifyPassword("s3cret-pass", a)).toBe(true);
    expect(await verifyPassword("s3cret-pasS", a)).toBe(false);
    expect(await verifyPassword("anything", null)).toBe(false);
  });

  it("renders templates, and something readable for unknown ones", () => {
    expect(renderTemplate("sms-code", { code: "012345" }).body).toBe(
      "【mallgraph】Your verification code is 012345. It expires in 5 minutes.",
    );
    expect(renderTemplate("brand-new", { a: 1 }).body).toBe("【mallgraph】brand-new: a=1");
  });

  it("SMS goes to the message center, e-mail to SMTP only when configured", () => {
    const center = { name: "message-center", send: async () => {} };
    const email = { name: "smtp", send: async () => {} };
    expect(pickProvider("SMS", { center, email }).name).toBe("message-center");
    expect(pickProvider("EMAIL", { center, email }).name).toBe("smtp");
    expect(pickProvider("EMAIL", { center }).name).toBe("message-center");
  });

  it("permission names are <area>:<action>", () => {
    expect(PERMISSION_NAMES.length).toBeGreaterThanOrEqual(12);
    for (const p of PERMISSION_NAMES) expect(p).toMatch(/^[a-z]+:[a-z]+$/);
    expect(isPermission("message:read")).toBe(true);
    expect(isPermission("toString")).toBe(false);
  });
});
