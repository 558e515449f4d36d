import { defineErrorCodes } from "@mallgraph/platform/errors";

/** Lottery's own error code (decision 0030): a red-envelope rain its budget cannot fund. */
export const LotteryErrorCode = defineErrorCodes({
  INSUFFICIENT_BALANCE: "The MARKETING account's available balance does not cover the red-envelope rain's total. Nothing was created.",
});

/** The lottery domain's result codes (business outcomes travel as `code`, failures as AppError). */
export const GrabCode = {
  OK: "OK",
  ALREADY_GRABBED: "ALREADY_GRABBED",
  SOLD_OUT: "SOLD_OUT",
  NOT_ONLINE: "NOT_ONLINE",
} as const;
export type GrabCode = (typeof GrabCode)[keyof typeof GrabCode];

/** Lua return codes of grabEnvelope-rain.lua, in order. */
export const GRAB_LUA_CODES: Record<number, GrabCode> = { 1: "OK", 2: "ALREADY_GRABBED", 3: "SOLD_OUT", 4: "NOT_ONLINE" };

export const DrawCode = {
  OK: "OK",
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  NOT_ONLINE: "NOT_ONLINE",
  RATE_LIMITED: "RATE_LIMITED",
} as const;
export type DrawCode = (typeof DrawCode)[keyof typeof DrawCode];

/** Outcomes of claimPrize and adminRetryDrawDelivery. */
export const DeliveryCode = {
  OK: "OK",
  NOT_FOUND: "NOT_FOUND",
  NOT_AWAITING_ADDRESS: "NOT_AWAITING_ADDRESS",
  ADDRESS_NOT_FOUND: "ADDRESS_NOT_FOUND",
  NOT_FAILED: "NOT_FAILED",
} as const;
export type DeliveryCode = (typeof DeliveryCode)[keyof typeof DeliveryCode];

export const SignInCode = {
  OK: "OK",
  ALREADY_SIGNED_IN: "ALREADY_SIGNED_IN",
  NOT_ONLINE: "NOT_ONLINE",
} as const;
export type SignInCode = (typeof SignInCode)[keyof typeof SignInCode];

/** Outcomes of buyDrawPack and exchangePointsForDraws. */
export const PackCode = {
  OK: "OK",
  SOLD_OUT: "SOLD_OUT",
  INSUFFICIENT_POINTS: "INSUFFICIENT_POINTS",
  NOT_ONLINE: "NOT_ONLINE",
} as const;
export type PackCode = (typeof PackCode)[keyof typeof PackCode];

export const PointsCode = {
  OK: "OK",
  INSUFFICIENT_POINTS: "INSUFFICIENT_POINTS",
} as const;
