/**
 * The one shared enum of error codes (`extensions.code`). Business refusals that are expected
 * outcomes travel as a result `code` instead; these are for input errors and failures.
 */
import { GraphQLError } from "graphql";

export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  ACCOUNT_LOCKED: "ACCOUNT_LOCKED",
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  INVALID_SMS_CODE: "INVALID_SMS_CODE",
  SMS_CODE_EXPIRED: "SMS_CODE_EXPIRED",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  INVALID_REFRESH_TOKEN: "INVALID_REFRESH_TOKEN",
  SESSION_REVOKED: "SESSION_REVOKED",
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
  INVALID_STATE: "INVALID_STATE",
  OUT_OF_STOCK: "OUT_OF_STOCK",
  QUERY_TOO_DEEP: "QUERY_TOO_DEEP",
  QUERY_TOO_COSTLY: "QUERY_TOO_COSTLY",
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  OPERATION_NOT_TRUSTED: "OPERATION_NOT_TRUSTED",
  /** The SANDBOX payment channel is off (SANDBOX_ENABLED; always off in production). */
  SANDBOX_DISABLED: "SANDBOX_DISABLED",
  /** A service called an internal field its subgraph's caller table does not give it. */
  SERVICE_NOT_ALLOWED: "SERVICE_NOT_ALLOWED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error meant for the client: its message and code are shown as they are. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
    this.name = "AppError";
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) => new AppError(ErrorCode.BAD_USER_INPUT, message, details);
export const notFound = (what: string, id?: string) =>
  new AppError(ErrorCode.NOT_FOUND, id ? `${what} ${id} not found` : `${what} not found`);
export const unauthenticated = (message = "authentication required") => new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = "not allowed") => new AppError(ErrorCode.FORBIDDEN, message);

export function isAppError(e: unknown): e is AppError {
  return e instanceof GraphQLError && typeof e.extensions?.code === "string" && e.extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * A value the code's own invariants guarantee (a key it just set, the first element of a split,
 * a row it just wrote). Absent means a bug: an internal error naming what was missing, not a
 * TypeError further on.
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`internal error: ${what} is missing`);
  return value;
}
