/** Apollo Server's HTTP answer written to a Node response (the gateway's /graphql and every subgraph's). */
import type http from "node:http";
import type { HTTPGraphQLResponse } from "@apollo/server";

/** Apollo's headers, then `extraHeaders`, the status, and the body (complete or streamed). */
export async function writeGraphQLResponse(
  res: http.ServerResponse,
  result: HTTPGraphQLResponse,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  for (const [k, v] of result.headers) res.setHeader(k, v);
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  res.statusCode = result.status ?? 200;
  if (result.body.kind === "complete") res.end(result.body.string);
  else {
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
}
