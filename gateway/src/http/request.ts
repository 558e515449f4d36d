/** Reading a GraphQL request off HTTP: the body (size-limited) and the parameters of a GET or a POST. */
import type http from "node:http";
import { ErrorCode } from "@mallgraph/platform/errors";
import { clientError } from "../errors.ts";
import type { GraphQLParams } from "../plugins/types.ts";

/** The request body; BAD_USER_INPUT once it passes `limit` bytes (the connection is dropped). */
export function readBody(req: http.IncomingMessage, limit = 2 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(clientError(ErrorCode.BAD_USER_INPUT, "request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
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

/** The operation of a GET (query string) or a POST (one JSON object; batches are refused). */
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
