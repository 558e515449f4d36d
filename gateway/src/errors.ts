/**
 * Errors the gateway itself raises (codes from the shared enum) and the HTTP status each maps to
 * when it refuses a request before execution.
 */
import { ErrorCode, type ErrorCode as Code } from "@mallgraph/platform/errors";
import type { GraphQLError } from "graphql";
import { graphql } from "./graphql.ts";

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.OPERATION_NOT_TRUSTED]: 403,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.QUERY_TOO_DEEP]: 400,
  [ErrorCode.QUERY_TOO_COSTLY]: 400,
  [ErrorCode.BAD_USER_INPUT]: 400,
  // Apollo clients look at the body of a persisted-query miss, not at the status.
  [ErrorCode.PERSISTED_QUERY_NOT_FOUND]: 200,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
};

export function httpStatusFor(code: string | undefined): number {
  return (code ? STATUS[code] : undefined) ?? 400;
}

/**
 * A client-facing error (like the platform's AppError) that also tells Apollo Server which HTTP
 * status to answer with; built from the same graphql instance as Apollo's (see graphql.ts).
 */
export function gatewayError(code: Code, message: string, details?: Record<string, unknown>): GraphQLError {
  return new graphql.GraphQLError(message, { extensions: { code, ...details, http: { status: httpStatusFor(code) } } });
}

/** A client-facing error without an HTTP status of its own (errors inside a result). */
export function clientError(code: string, message: string, details?: Record<string, unknown>): GraphQLError {
  return new graphql.GraphQLError(message, { extensions: { code, ...details } });
}

/** Duck-typed: errors may come from either build of graphql. */
export function isGraphQLError(e: unknown): e is GraphQLError {
  return (
    e instanceof Error &&
    (e.name === "GraphQLError" || e instanceof graphql.GraphQLError) &&
    typeof (e as { toJSON?: unknown }).toJSON === "function"
  );
}
