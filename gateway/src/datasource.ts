/**
 * How the gateway talks to a subgraph: the URL from config, the caller's identity signed into
 * `x-mg-identity` (client `x-mg-*` headers are never forwarded), keep-alive HTTP agents, a request
 * time-out and a circuit breaker per subgraph.
 */
import http from "node:http";
import https from "node:https";
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { ANONYMOUS, IDENTITY_HEADER, signIdentity } from "@mallgraph/platform/auth";
import { ErrorCode } from "@mallgraph/platform/errors";
import { REVOKED_SESSIONS_HEADER } from "@mallgraph/platform/revocation";
import { clientError } from "./errors.ts";
import { CircuitBreaker, CircuitOpenError } from "./circuit-breaker.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { GatewayContext } from "./plugins/types.ts";

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

class SubgraphTimeout extends Error {}

/** POST with Node's http client and a keep-alive agent; resolves with a WHATWG Response. */
function post(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }, timeoutMs: number): Promise<Response> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = mod.request(u, { method: init.method ?? "POST", headers: init.headers, agent: u.protocol === "https:" ? httpsAgent : httpAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on("end", () => {
        clearTimeout(timer);
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
        const status = res.statusCode ?? 502;
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
      });
    });
    req.setNoDelay(true); // no Nagle: a small request must not wait for the subgraph's delayed ACK
    const timer = setTimeout(() => req.destroy(new SubgraphTimeout(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(init.body);
  });
}

export interface SubgraphSourceOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  breaker: CircuitBreaker;
  metrics: GatewayMetrics;
  /** Sessions a subgraph revoked while answering (x-mg-revoked-sessions): forgotten at once. */
  onRevokedSessions?: (sessionIds: string[]) => void;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext & Record<string, any>> {
  constructor(readonly opts: SubgraphSourceOptions) {
    super({ url: opts.url });
    const { name, timeoutMs, breaker, metrics } = opts;
    this.fetcher = (async (url: string, init: any) => {
      const end = metrics.subgraphDuration.startTimer({ subgraph: name });
      try {
        const res = await breaker.run(() => post(url, init, timeoutMs), (r) => r.status >= 500);
        const revoked = res.headers.get(REVOKED_SESSIONS_HEADER);
        if (revoked) this.opts.onRevokedSessions?.(revoked.split(","));
        metrics.subgraphRequests.inc({ subgraph: name, outcome: res.status >= 500 ? "http_error" : "ok" });
        return res;
      } catch (e) {
        if (e instanceof CircuitOpenError) {
          metrics.subgraphRequests.inc({ subgraph: name, outcome: "circuit_open" });
          throw clientError(ErrorCode.SERVICE_UNAVAILABLE, e.message, { subgraph: name });
        }
        const timeout = e instanceof SubgraphTimeout;
        metrics.subgraphRequests.inc({ subgraph: name, outcome: timeout ? "timeout" : "network_error" });
        throw clientError(ErrorCode.SERVICE_UNAVAILABLE, timeout ? `subgraph ${name} timed out` : `subgraph ${name} is unreachable`, { subgraph: name });
      } finally {
        end();
      }
    }) as any;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext & Record<string, any>>): void {
    const headers = request.http!.headers;
    for (const [k] of [...headers]) if (k.toLowerCase().startsWith("x-mg-")) headers.delete(k);
    headers.set(IDENTITY_HEADER, signIdentity(this.opts.secret, context?.identity ?? ANONYMOUS));
    if (context?.requestId) headers.set("x-request-id", context.requestId);
  }
}
