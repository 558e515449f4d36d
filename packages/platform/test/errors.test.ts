/** Shared and domain-declared error codes (decision 0030). */
import { describe, expect, it } from "vitest";
import { AppError, ErrorCode, defineErrorCodes, meaningsOf } from "../src/errors.ts";

describe("domain error codes", () => {
  const Codes = defineErrorCodes({ SOLD_AWAY: "Nothing left to sell.", TOO_LATE: "The window closed." });

  it("a declared code is its own name on the wire, and AppError sends it as extensions.code", () => {
    expect(Codes).toEqual({ SOLD_AWAY: "SOLD_AWAY", TOO_LATE: "TOO_LATE" });
    const e = new AppError(Codes.TOO_LATE, "too late", { field: "at" });
    expect(e.extensions).toEqual({ code: "TOO_LATE", field: "at" });
    expect(Object.isFrozen(Codes)).toBe(true);
  });

  it("meaningsOf answers the meanings of a declared set and nothing for anything else", () => {
    expect(meaningsOf(Codes)).toEqual({ SOLD_AWAY: "Nothing left to sell.", TOO_LATE: "The window closed." });
    expect(meaningsOf(ErrorCode)).toBeUndefined();
    expect(meaningsOf({ SOLD_AWAY: "SOLD_AWAY" })).toBeUndefined();
    expect(meaningsOf("SOLD_AWAY")).toBeUndefined();
  });

  it("the shared enum holds no code a domain declares", () => {
    expect(Object.keys(ErrorCode)).not.toContain("INVALID_STATE");
    expect(Object.keys(ErrorCode)).not.toContain("ACCOUNT_LOCKED");
  });
});
