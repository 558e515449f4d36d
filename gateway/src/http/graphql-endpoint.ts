/**
 * POST/GET /graphql: the request state, the plugins' request and parameter hooks, Apollo's HTTP
 * execution, the response headers; a failure before execution is answered as a formatted GraphQL
 * error with its HTTP status; every plugin's onResponse hears the outcome.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import { writeGraphQLResponse } from "@mallgraph/platform/apollo-http";
import { ANONYMOUS } from "@mallgraph/platform/auth";
import type { Logger } from "@mallgraph/platform/log";
import type { GraphQLFormattedError } from "graphql";
import type { ClientIp } from "../client-ip.ts";
import { httpStatusFor, isGraphQLError } from "../errors.ts";
import { forwardSingleFetch, type Forwarding } from "../forward.ts";
import { graphql } from "../graphql.ts";
import type { GatewayContext, GatewayPlugin, RequestState } from "../plugins/types.ts";
import { readBody, readParams } from "./params.ts";

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
}

/** The request's headers as one string per name (`set-cookie`, the only array Node keeps, joined). */
function plainHeaders(raw: http.IncomingHttpHeaders): Record<string, string | undefined> {
  if (raw["set-cookie"] === undefined) return raw as Record<string, string | undefined>;
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  return headers;
}

export interface GraphqlEndpointDeps {
  apollo: ApolloServer<GatewayContext>;
  plugins: GatewayPlugin[];
  /** The plugins' error formatting (masking, metrics). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  log: Logger;
  clientIp: ClientIp;
  /** Single-fetch forwarding (src/forward.ts); absent when turned off. */
  forwarding?: Forwarding;
}

export function graphqlEndpoint(d: GraphqlEndpointDeps) {
  const { apollo, plugins, formatError, log } = d;
  return async function handleGraphQL(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const started = process.hrtime.bigint();
    // Node joins repeated request headers into one string except `set-cookie` (an array): only then
    // is a copy needed; otherwise the parsed object is used as it is (no object per request)
    const headers = plainHeaders(req.headers);
    const state: RequestState = {
      transport: "http",
      headers,
      ip: d.clientIp(req),
      clientName: headers["apollographql-client-name"],
      identity: ANONYMOUS,
      requestId: headers["x-request-id"]?.slice(0, 100) || randomUUID(),
      method: req.method ?? "GET",
      responseHeaders: {},
    };
    let operationName: string | undefined;
    try {
      if (state.method !== "GET" && state.method !== "POST") {
        sendJson(res, 405, { errors: [{ message: "use GET or POST", extensions: { code: "BAD_REQUEST" } }] }, { allow: "GET, POST" });
        return;
      }
      const body = await readBody(req);
      // hooks that answer at once (a leased rate-limit hit, a request without persisted query) are not awaited
      for (const p of plugins) {
        const done = p.onRequest?.(state);
        if (done instanceof Promise) await done;
      }
      let params = readParams(state.method, url, body);
      operationName = params.operationName ?? undefined;
      for (const p of plugins) {
        if (!p.onParams) continue;
        const next = p.onParams(params, state);
        params = next instanceof Promise ? await next : next;
      }
      if (d.forwarding && (await forwardSingleFetch(d.forwarding, params, state, res))) return;

      const headerMap = new HeaderMap();
      for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== "content-length") headerMap.set(k, v);
      let search = "";
      let httpBody: unknown;
      if (state.method === "GET") {
        const s = new URLSearchParams();
        if (params.query) s.set("query", params.query);
        if (params.operationName) s.set("operationName", params.operationName);
        if (params.variables) s.set("variables", JSON.stringify(params.variables));
        if (params.extensions && Object.keys(params.extensions).length) s.set("extensions", JSON.stringify(params.extensions));
        search = `?${s.toString()}`;
      } else {
        headerMap.set("content-type", "application/json");
        httpBody = params;
      }
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: state.method, headers: headerMap, search, body: httpBody },
        context: async () => ({ identity: state.identity, requestId: state.requestId, state }),
      });
      await writeGraphQLResponse(res, result, { ...state.responseHeaders, "x-request-id": state.requestId });
    } catch (e) {
      const err = isGraphQLError(e) ? e : new graphql.GraphQLError("internal error", { originalError: e as Error });
      if (!isGraphQLError(e)) log.error({ err: e }, "gateway request failed");
      const formatted = formatError(err.toJSON(), err);
      state.outcome = { operationName, errors: [formatted] };
      const status =
        (err.extensions?.http as { status?: number } | undefined)?.status ?? httpStatusFor(formatted.extensions?.code as string);
      if (!res.headersSent) sendJson(res, status, { errors: [formatted] }, { ...state.responseHeaders, "x-request-id": state.requestId });
      else res.end();
    } finally {
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const outcome = state.outcome ?? { operationName, errors: [] };
      for (const p of plugins)
        p.onResponse?.({ state, operationName: outcome.operationName ?? operationName, durationSeconds, errors: outcome.errors });
    }
  };
}
