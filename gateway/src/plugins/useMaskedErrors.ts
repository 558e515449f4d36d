/**
 * useMaskedErrors: what a client may see of an error.
 * - Errors with a public code pass through with their message and extensions.code: the shared
 *   codes (packages/platform/src/errors.ts), GraphQL's own request errors (parse, validation, bad
 *   variables), and any domain code a subgraph sent (subgraphs already mask their internals).
 * - Everything else (a crash in the gateway, a subgraph answering garbage, DOWNSTREAM_SERVICE_ERROR
 *   without a code) becomes `{ message: "internal error", extensions: { code: INTERNAL_SERVER_ERROR } }`
 *   and the original is logged.
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import type { GraphQLFormattedError } from "graphql";
import type { GatewayPlugin } from "./types.ts";

const PUBLIC = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);
const NOT_A_DOMAIN_CODE = new Set(["INTERNAL_SERVER_ERROR", "DOWNSTREAM_SERVICE_ERROR"]);

/** The code a client will see for this formatted error. */
export function publicCode(formatted: GraphQLFormattedError): string {
  const ext = formatted.extensions ?? {};
  const code = typeof ext.code === "string" ? ext.code : undefined;
  if (code && PUBLIC.has(code)) return code;
  if (code && typeof ext.serviceName === "string" && !NOT_A_DOMAIN_CODE.has(code)) return code;
  return ErrorCode.INTERNAL_SERVER_ERROR;
}

export function useMaskedErrors(opts: { log: Logger }): GatewayPlugin {
  return {
    name: "masked-errors",
    onError(formatted, error) {
      const code = publicCode(formatted);
      if (code === ErrorCode.INTERNAL_SERVER_ERROR) {
        const original = (error as { originalError?: unknown } | null | undefined)?.originalError ?? error;
        // A subgraph's own masked error is already opaque; anything else is worth a log line.
        if (formatted.message !== "internal error")
          opts.log.error({ err: original, message: formatted.message, path: formatted.path }, "masked internal error");
        return { message: "internal error", ...(formatted.path ? { path: formatted.path } : {}), extensions: { code } };
      }
      const {
        http: _h,
        stacktrace: _s,
        exception: _e,
        serviceName: _n,
        ...extensions
      } = (formatted.extensions ?? {}) as Record<string, unknown>;
      return { ...formatted, extensions: { ...extensions, code } };
    },
  };
}
