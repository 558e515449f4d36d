/** Pure rules of the member domain (no I/O): input formats, login lock window, token hashing. */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { badInput } from "../errors.ts";

export const PHONE_RE = /^1[3-9]\d{9}$/;
export const SMS_CODE_RE = /^\d{6}$/;
export const USERNAME_RE = /^[A-Za-z][A-Za-z0-9_]{2,31}$/;
export const DEVICE_TYPES = ["WEB", "APP", "MINI_PROGRAM"] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const SMS_CODE_TTL_SECONDS = 300;
export const SMS_RESEND_SECONDS = 60;
export const SMS_MAX_WRONG_TRIES = 5;
export const MAX_LOGIN_FAILURES_PER_DAY = 5;
/** The calendar day of the login lock is China's (UTC+8). */
export const LOCK_DAY_UTC_OFFSET_MINUTES = 8 * 60;

export function assertPhone(phone: unknown, field = "phone"): string {
  if (typeof phone !== "string" || !PHONE_RE.test(phone))
    throw badInput(`${field} must be a mainland China mobile number (11 digits starting 13-19)`, { field });
  return phone;
}

export function assertPassword(password: unknown, field = "password"): string {
  if (typeof password !== "string" || password.length < 6 || password.length > 128)
    throw badInput(`${field} must have 6 to 128 characters`, { field });
  return password;
}

export function assertUsername(username: unknown, field = "username"): string {
  if (typeof username !== "string" || !USERNAME_RE.test(username))
    throw badInput(`${field} must be 3-32 letters, digits or _ and start with a letter`, { field });
  return username;
}

export function deviceOf(device: unknown): DeviceType {
  if (device === undefined || device === null) return "WEB";
  if (!DEVICE_TYPES.includes(device as DeviceType)) throw badInput(`device must be one of ${DEVICE_TYPES.join(", ")}`, { field: "device" });
  return device as DeviceType;
}

/** A trimmed text of 1..max characters. */
export function text(value: unknown, field: string, max: number): string {
  const v = typeof value === "string" ? value.trim() : "";
  if (!v || v.length > max) throw badInput(`${field} must have 1 to ${max} characters`, { field });
  return v;
}

export function newSmsCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

/** The calendar day (at `offsetMinutes` from UTC) containing `nowMs`, and when it ends. */
export function dayWindow(nowMs: number, offsetMinutes = LOCK_DAY_UTC_OFFSET_MINUTES): { day: string; endsAtMs: number } {
  const shifted = new Date(nowMs + offsetMinutes * 60_000);
  const y = shifted.getUTCFullYear();
  const m = shifted.getUTCMonth();
  const d = shifted.getUTCDate();
  const day = `${y}${String(m + 1).padStart(2, "0")}${String(d).padStart(2, "0")}`;
  const endsAtMs = Date.UTC(y, m, d + 1) - offsetMinutes * 60_000;
  return { day, endsAtMs };
}

/** Locked once the day's failures reached the maximum: every further try fails, right password or not (mirrored in lua/beginLogin-failures-pending.lua). */
export function isLocked(failuresToday: number, max = MAX_LOGIN_FAILURES_PER_DAY): boolean {
  return failuresToday >= max;
}

export function newOpaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Refresh tokens are stored by their sha256 only. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
