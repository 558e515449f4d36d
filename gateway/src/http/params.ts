/**
 * Reading the GraphQL parameters of an HTTP request: the body (bounded), a POST's JSON or a GET's
 * search parameters. Refusals are `BAD_USER_INPUT`; a body over the limit answers HTTP 413.
 */
import type http from "node:http";
import { ErrorCode } from "@mallgraph/platform/errors";
import { clientError } from "../errors.ts";
import { graphql } from "../graphql.ts";
import type { GraphQLParams } from "../plugins/types.ts";

export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * The request body, at most `limit` bytes. A larger one is read to its end without being kept
 * (so the client hears the 413 instead of a reset connection), then refused.
 */
export function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else chunks.length = 0;
    });
    req.on("end", () => {
      if (size > limit) {
        reject(new graphql.GraphQLError(`request body too large (at most ${limit} bytes)`, { extensions: { code: ErrorCode.BAD_USER_INPUT, limit, http: { status: 413 } } }));
      } else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

const badInput = (message: string) => clientError(ErrorCode.BAD_USER_INPUT, message);

function jsonParam(value: string | null, name: string): any {
  if (value === null || value === "") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw badInput(`${name} must be JSON`);
  }
}

export function readParams(method: string, url: URL, body: Buffer): GraphQLParams {
  if (method === "GET") {
    const s = url.searchParams;
    return {
      query: s.get("query") ?? undefined,
      operationName: s.get("operationName") ?? undefined,
      variables: jsonParam(s.get("variables"), "variables"),
      extensions: jsonParam(s.get("extensions"), "extensions"),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw badInput("the request body must be JSON");
  }
  if (Array.isArray(parsed)) throw badInput("batched operations are not supported");
  if (!parsed || typeof parsed !== "object") throw badInput("the request body must be a JSON object");
  return parsed as GraphQLParams;
}
