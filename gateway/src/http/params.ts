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
/** How deep variables and extensions may nest (no input type of the schema comes close). */
export const MAX_JSON_DEPTH = 64;

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
        reject(
          new graphql.GraphQLError(`request body too large (at most ${limit} bytes)`, {
            extensions: { code: ErrorCode.BAD_USER_INPUT, limit, http: { status: 413 } },
          }),
        );
      } else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

const badInput = (message: string) => clientError(ErrorCode.BAD_USER_INPUT, message);

function jsonParam(value: string | null, name: string): unknown {
  if (value === null || value === "") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw badInput(`${name} must be JSON`);
  }
}

/**
 * Refuses variables or extensions nested deeper than MAX_JSON_DEPTH (BAD_USER_INPUT) before
 * anything recursive (caches, coercion) walks them. Iterative.
 */
export function assertShallow(params: GraphQLParams): void {
  for (const name of ["variables", "extensions"] as const) {
    if (flat(params[name])) continue;
    const stack: Array<[unknown, number]> = [[params[name], 1]];
    for (let top = stack.pop(); top; top = stack.pop()) {
      const [v, depth] = top;
      if (!v || typeof v !== "object") continue;
      if (depth > MAX_JSON_DEPTH) throw clientError(ErrorCode.BAD_USER_INPUT, `${name} nest deeper than ${MAX_JSON_DEPTH} levels`);
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
    }
  }
}

/** Absent, or an object of plain values only (most variables): nothing to walk. */
function flat(v: unknown): boolean {
  if (!v || typeof v !== "object") return true;
  for (const k in v) {
    const child = (v as Record<string, unknown>)[k];
    if (child && typeof child === "object") return false;
  }
  return true;
}

export function readParams(method: string, url: URL, body: Buffer): GraphQLParams {
  if (method === "GET") {
    const s = url.searchParams;
    const params = {
      query: s.get("query") ?? undefined,
      operationName: s.get("operationName") ?? undefined,
      // as the JSON body's: the shapes are checked where they are used (assertShallow, coercion)
      variables: jsonParam(s.get("variables"), "variables") as GraphQLParams["variables"],
      extensions: jsonParam(s.get("extensions"), "extensions") as GraphQLParams["extensions"],
    };
    assertShallow(params);
    return params;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw badInput("the request body must be JSON");
  }
  if (Array.isArray(parsed)) throw badInput("batched operations are not supported");
  if (!parsed || typeof parsed !== "object") throw badInput("the request body must be a JSON object");
  assertShallow(parsed as GraphQLParams);
  return parsed as GraphQLParams;
}
