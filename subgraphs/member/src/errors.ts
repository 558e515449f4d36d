/**
 * The member domain's error codes (its own sign-in codes, declared here, and the shared ones) and
 * the constructors its services use. Business outcomes (OK / INSUFFICIENT_BALANCE / NO_ACCOUNT ...)
 * are result codes, not errors.
 */
import { AppError, ErrorCode, defineErrorCodes } from "@mallgraph/platform/errors";

export { AppError, ErrorCode };

/** Member's own error codes: signing in and sessions (decision 0030). */
export const MemberErrorCode = defineErrorCodes({
  ACCOUNT_LOCKED: "Five failed sign-ins today: the account is locked until midnight (shop time).",
  INVALID_CREDENTIALS: "Phone or password wrong; counts towards the daily lock.",
  INVALID_SMS_CODE: "The SMS code is wrong; counts towards the daily lock.",
  SMS_CODE_EXPIRED: "The SMS code expired: request a new one.",
  INVALID_REFRESH_TOKEN: "The refresh token is unknown, expired or was already used (a reused token ends the whole session).",
});
export { badInput, notFound, forbidden, unauthenticated } from "@mallgraph/platform/errors";
export { isForeignKeyViolation, isUniqueViolation } from "@mallgraph/platform/db-errors";

export const invalidCredentials = () => new AppError(MemberErrorCode.INVALID_CREDENTIALS, "wrong phone/username or password");
export const accountLocked = (retryAfterSeconds: number) =>
  new AppError(MemberErrorCode.ACCOUNT_LOCKED, "too many failed logins today; try again tomorrow", { retryAfterSeconds });
export const invalidSmsCode = () => new AppError(MemberErrorCode.INVALID_SMS_CODE, "the SMS code is wrong");
export const smsCodeExpired = () =>
  new AppError(MemberErrorCode.SMS_CODE_EXPIRED, "no valid SMS code for this phone (expired, used or burned); request a new one");
export const alreadyExists = (what: string) => new AppError(ErrorCode.ALREADY_EXISTS, `${what} already exists`, { field: what });
export const invalidRefreshToken = (why = "refresh token is invalid or expired") =>
  new AppError(MemberErrorCode.INVALID_REFRESH_TOKEN, why);
export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
