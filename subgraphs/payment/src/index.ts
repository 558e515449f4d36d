/**
 * The payment subgraph: builds its services and serves GraphQL plus the providers' callback routes
 * (POST /callbacks/sandbox | alipay | wechat, and /callbacks/sandbox/payout for payouts) and the operators' CSV export
 * (GET /exports/transactions.csv?from=&to=, identity header with payment:read).
 */
import { readFileSync } from "node:fs";
import type http from "node:http";
import { assertPermission } from "@mallgraph/platform/access";
import { verifyIdentity, IDENTITY_HEADER } from "@mallgraph/platform/auth";
import { loadConfig } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { isAppError } from "@mallgraph/platform/errors";
import { logger } from "@mallgraph/platform/log";
import { runSubgraphMain, type RouteHandler } from "@mallgraph/platform/subgraph";
import type { Channel } from "./channels/types.ts";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { createPaymentServices, reachableHost, type PaymentServiceOptions, type PaymentServices } from "./services/index.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface PaymentSubgraphOptions extends PaymentServiceOptions {
  port?: number;
}

function callbackRoute(services: PaymentServices, channel: Channel, kind: "payment" | "payout" = "payment"): RouteHandler {
  const log = logger("payment");
  return async (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    try {
      const answer =
        kind === "payout"
          ? await services.payments.handlePayoutCallback(channel, req.headers, body)
          : await services.payments.handleCallback(channel, req.headers, body);
      res.writeHead(answer.status, { "content-type": answer.contentType }).end(answer.body);
    } catch (e) {
      log.error({ err: e, channel }, "callback failed");
      // 5xx: the provider retries later.
      res.writeHead(500, { "content-type": "text/plain" }).end("fail");
    }
  };
}

function exportRoute(services: PaymentServices): RouteHandler {
  return async (req, _body, res) => {
    const identity = verifyIdentity(services.internalSecret, req.headers[IDENTITY_HEADER] as string | undefined);
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      assertPermission({ identity, requestId: "" }, "payment:read");
      const csv = await services.reports.exportCsv(url.searchParams.get("from") ?? "", url.searchParams.get("to") ?? "");
      res
        .writeHead(200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="transactions.csv"' })
        .end(csv);
    } catch (e) {
      const code = isAppError(e) ? String(e.extensions.code) : "INTERNAL_SERVER_ERROR";
      const status = code === "UNAUTHENTICATED" ? 401 : code === "FORBIDDEN" ? 403 : code === "BAD_USER_INPUT" ? 400 : 500;
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify({ error: code, message: status === 500 ? "internal error" : (e as Error).message }));
    }
  };
}

export const createPaymentSubgraph = defineSubgraph({
  name: "payment",
  typeDefs,
  resolvers,
  services: createPaymentServices,
  close: (services) => services.close(),
  context: (base, services): Context => ({ ...base, services }),
  routes: (services) => ({
    "POST /callbacks/sandbox": callbackRoute(services, "SANDBOX"),
    "POST /callbacks/sandbox/payout": callbackRoute(services, "SANDBOX", "payout"),
    "POST /callbacks/alipay": callbackRoute(services, "ALIPAY"),
    "POST /callbacks/wechat": callbackRoute(services, "WECHAT_PAY"),
    "GET /exports/transactions.csv": exportRoute(services),
  }),
  afterStart: (services, running, opts) => services.setCallbackBase(`http://${reachableHost(opts.config.SERVICE_HOST)}:${running.port}`),
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("payment", () => createPaymentSubgraph({ config: loadConfig() }));
