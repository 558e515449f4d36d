/**
 * The shared error codes (`extensions.code`): the generic ones every room may raise — the caller
 * (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED), the input (BAD_USER_INPUT), the object (NOT_FOUND,
 * CONFLICT, ALREADY_EXISTS), the gateway's limits and the services (SERVICE_*, INTERNAL_SERVER_ERROR).
 * A code that one domain's rules define (a sign-in lock, a seckill's stock, a state machine's
 * refusal) is declared by that domain with `defineErrorCodes` in its `src/errors.ts` (decision 0030).
 * Business refusals that are expected outcomes travel as a result `code` instead; these are for
 * input errors and failures.
 */
import { GraphQLError } from "graphql";

export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  RATE_LIMITED: "RATE_LIMITED",
  QUERY_TOO_DEEP: "QUERY_TOO_DEEP",
  QUERY_TOO_COSTLY: "QUERY_TOO_COSTLY",
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  OPERATION_NOT_TRUSTED: "OPERATION_NOT_TRUSTED",
  /** A service called an internal field its subgraph's caller table does not give it. */
  SERVICE_NOT_ALLOWED: "SERVICE_NOT_ALLOWED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

declare const declaredByDomain: unique symbol;
/** A code a domain declared (`defineErrorCodes`); on the wire it is the plain string. */
export type DomainErrorCode<K extends string = string> = K & { readonly [declaredByDomain]: true };

const meanings = new WeakMap<object, Readonly<Record<string, string>>>();

/**
 * A domain's own error codes, each with what it tells a client (docs/errors.md is generated from
 * these, scripts/error-catalogue.ts): `export const MemberErrorCode = defineErrorCodes({ ACCOUNT_LOCKED: "Five failed sign-ins …" })`,
 * then `new AppError(MemberErrorCode.ACCOUNT_LOCKED, …)`.
 */
export function defineErrorCodes<const M extends Record<string, string>>(
  meaning: M,
): { readonly [K in keyof M & string]: DomainErrorCode<K> } {
  const codes = Object.freeze(Object.fromEntries(Object.keys(meaning).map((k) => [k, k])));
  meanings.set(codes, Object.freeze({ ...meaning }));
  return codes as { readonly [K in keyof M & string]: DomainErrorCode<K> };
}

/** What each code of a `defineErrorCodes` set means; undefined for any other value. */
export function meaningsOf(codes: unknown): Readonly<Record<string, string>> | undefined {
  return typeof codes === "object" && codes !== null ? meanings.get(codes) : undefined;
}

/** An error meant for the client: its message and code (shared or declared by a domain) are shown as they are. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode | DomainErrorCode, message: string, details?: Record<string, unknown>) {
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

/** A thrown value as an Error (a batch's answer for one of its callers: DataLoader takes Errors, not throws). */
export const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * A value the code's own invariants guarantee (a key it just set, the first element of a split,
 * a row it just wrote). Absent means a bug: an internal error naming what was missing, not a
 * TypeError further on.
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`internal error: ${what} is missing`);
  return value;
}
