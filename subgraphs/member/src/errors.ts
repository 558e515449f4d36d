/**
 * The member domain's error codes (all from the shared enum) and the constructors its services use.
 * Business outcomes (OK / INSUFFICIENT_BALANCE / NO_ACCOUNT ...) are result codes, not errors.
 */
import { AppError, ErrorCode } from "@mallgraph/platform/errors";

export { AppError, ErrorCode };
export { badInput, notFound, forbidden, unauthenticated } from "@mallgraph/platform/errors";
export { isForeignKeyViolation, isUniqueViolation } from "@mallgraph/platform/db-errors";

export const invalidCredentials = () => new AppError(ErrorCode.INVALID_CREDENTIALS, "wrong phone/username or password");
export const accountLocked = (retryAfterSeconds: number) =>
  new AppError(ErrorCode.ACCOUNT_LOCKED, "too many failed logins today; try again tomorrow", { retryAfterSeconds });
export const invalidSmsCode = () => new AppError(ErrorCode.INVALID_SMS_CODE, "the SMS code is wrong");
export const smsCodeExpired = () =>
  new AppError(ErrorCode.SMS_CODE_EXPIRED, "no valid SMS code for this phone (expired, used or burned); request a new one");
export const alreadyExists = (what: string) => new AppError(ErrorCode.ALREADY_EXISTS, `${what} already exists`, { field: what });
export const invalidRefreshToken = (why = "refresh token is invalid or expired") => new AppError(ErrorCode.INVALID_REFRESH_TOKEN, why);
export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
