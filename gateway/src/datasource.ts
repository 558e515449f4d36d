/**
 * How the gateway talks to a subgraph: the URL from config, the caller's identity signed into
 * `x-mg-identity` (client `x-mg-*` headers are never forwarded), a request time-out and a circuit
 * breaker per subgraph, over the undici client of subgraph-http.ts (keep-alive, no WHATWG/node-fetch
 * Request and Response objects per call: RemoteGraphQLDataSource's default made both).
 * Forwarded operations (`forward`) of one event-loop turn go to the subgraph as one batch
 * (decision 0048, @mallgraph/platform/subgraph-batch), each element answered as its own request.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLResponse, GatewayGraphQLRequest, GatewayHTTPResponse } from "@apollo/server-gateway-interface";
import { ANONYMOUS, IDENTITY_HEADER, signIdentity, type Keys } from "@mallgraph/platform/auth";
import { defined, ErrorCode } from "@mallgraph/platform/errors";
import { REVOKED_SESSIONS_HEADER } from "@mallgraph/platform/revocation";
import { batchPath, encodeBatchRequest, type ElementAnswer } from "@mallgraph/platform/subgraph-batch";
import { TurnQueue, type QueuedRequest } from "@mallgraph/platform/subgraph-batch-http";
import { CircuitBreaker, CircuitOpenError } from "./circuit-breaker.ts";
import { clientError } from "./errors.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { GatewayContext } from "./plugins/types.ts";
import { BatchedAnswer, post, postBatch, SubgraphTimeout, type BatchExchange, type SubgraphAnswer } from "./subgraph-http.ts";

export type { SubgraphAnswer } from "./subgraph-http.ts";

export interface SubgraphSourceOptions {
  name: string;
  url: string;
  /** The gateway's identity-header secret (`serviceKeys(config)`). */
  secret: Keys;
  timeoutMs: number;
  breaker: CircuitBreaker;
  metrics: GatewayMetrics;
  /** Sessions a subgraph revoked while answering (x-mg-revoked-sessions): forgotten at once. */
  onRevokedSessions?: (sessionIds: string[]) => void;
  /** Send the forwarded operations of one event-loop turn as one batch (decision 0048); default true. */
  batch?: boolean;
}

/** A forwarded operation waiting for the end of this event-loop turn. */
interface Pending extends QueuedRequest {
  resolve: (a: SubgraphAnswer) => void;
  reject: (e: unknown) => void;
}

/** A batch the subgraph did not answer as one (not 200, or not framed as a batch). */
class BatchRefused extends Error {}

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext & Record<string, unknown>> {
  private readonly target: { url: string; origin: string; path: string };
  private readonly batchTarget: { url: string; origin: string; path: string };
  /** The forwarded operations of this event-loop turn: one alone as a request of its own, several as one batch. */
  private readonly turn = new TurnQueue<Pending>((queue, asBatch) => {
    if (asBatch) void this.callBatch(queue);
    else for (const p of queue) this.call(this.singleHeaders(p.identity, p.requestId), p.body).then(p.resolve, p.reject);
  });

  constructor(readonly opts: SubgraphSourceOptions) {
    super({ url: opts.url });
    const u = new URL(opts.url);
    this.target = { url: opts.url, origin: u.origin, path: u.pathname + u.search };
    const batch = batchPath(u.pathname) + u.search;
    this.batchTarget = { url: u.origin + batch, origin: u.origin, path: batch };
    // RemoteGraphQLDataSource.sendRequest is private in its typings: replaced on the instance.
    Object.defineProperty(this, "sendRequest", { value: this.send.bind(this) });
  }

  /** Sends one subgraph request through the breaker; metrics and revocations as it answers. */
  private async call(headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    const started = performance.now();
    let outcome = "ok";
    try {
      const res = await this.opts.breaker.run(
        () => post(this.target, headers, body, this.opts.timeoutMs),
        (r) => r.status >= 500,
      );
      this.heard(res);
      if (res.status >= 500) outcome = "http_error";
      return res;
    } catch (e) {
      const failed = this.failure(e);
      outcome = failed.outcome;
      throw failed.error;
    } finally {
      this.opts.metrics.subgraphCallDone(this.opts.name, outcome, (performance.now() - started) / 1000);
    }
  }

  /** Sessions the answer says were revoked are forgotten at once. */
  private heard(res: SubgraphAnswer): void {
    const revoked = res.headers.get(REVOKED_SESSIONS_HEADER);
    if (revoked) this.opts.onRevokedSessions?.(revoked.split(","));
  }

  /** A failed exchange as the caller's SERVICE_UNAVAILABLE error, and the metric's outcome. */
  private failure(e: unknown): { outcome: string; error: Error } {
    const { name } = this.opts;
    if (e instanceof CircuitOpenError)
      return { outcome: "circuit_open", error: clientError(ErrorCode.SERVICE_UNAVAILABLE, e.message, { subgraph: name }) };
    const timeout = e instanceof SubgraphTimeout;
    const refused = e instanceof BatchRefused;
    return {
      outcome: timeout ? "timeout" : refused ? "http_error" : "network_error",
      error: clientError(
        ErrorCode.SERVICE_UNAVAILABLE,
        timeout
          ? `subgraph ${name} timed out`
          : refused
            ? `subgraph ${name} refused a batch (${e.message})`
            : `subgraph ${name} is unreachable`,
        { subgraph: name },
      ),
    };
  }

  private singleHeaders(identity: string, requestId: string): Record<string, string> {
    return { "content-type": "application/json", [IDENTITY_HEADER]: identity, "x-request-id": requestId };
  }

  /**
   * One batch (decision 0048) through the breaker: each element settles with its own answer as soon
   * as its frame arrives, as a request of its own would; a failure of the exchange fails the elements
   * not answered yet, alike. A subgraph without the batch endpoint (404/405: nothing ran) gets the
   * elements again as single requests.
   */
  private async callBatch(queue: Pending[]): Promise<void> {
    const started = performance.now();
    const settled: boolean[] = [];
    const onElement = (index: number, element: ElementAnswer): boolean => {
      const p = queue[index];
      if (!p || settled[index]) return false;
      settled[index] = true;
      const answer = new BatchedAnswer(this.target.url, element);
      this.heard(answer);
      this.opts.metrics.subgraphCallDone(this.opts.name, answer.status >= 500 ? "http_error" : "ok", (performance.now() - started) / 1000);
      p.resolve(answer);
      return true;
    };
    let exchange: BatchExchange;
    try {
      exchange = await this.opts.breaker.run(
        async () => {
          const x = await postBatch(this.batchTarget, encodeBatchRequest(queue), this.opts.timeoutMs, onElement);
          if (x.status === 404 || x.status === 405) return x;
          if (!x.batch) throw new BatchRefused(`HTTP ${x.status}`);
          if (x.answered < queue.length) throw new BatchRefused(`${x.answered} answers to ${queue.length} operations`);
          return x;
        },
        (x) => x.failedElements > 0,
      );
    } catch (e) {
      const failed = this.failure(e);
      const seconds = (performance.now() - started) / 1000;
      queue.forEach((p, i) => {
        if (settled[i]) return;
        this.opts.metrics.subgraphCallDone(this.opts.name, failed.outcome, seconds);
        p.reject(failed.error);
      });
      return;
    }
    if (!exchange.batch) {
      this.turn.unsupported();
      for (const p of queue) this.call(this.singleHeaders(p.identity, p.requestId), p.body).then(p.resolve, p.reject);
    }
  }

  /**
   * One operation sent as the normal pipeline would send it (src/forward.ts: `body` is the request
   * JSON `{query, operationName, variables}`): the same headers, identity, breaker and metrics; the
   * answer is returned unread.
   */
  forward(body: string, context: GatewayContext): Promise<SubgraphAnswer> {
    const { requestId } = context;
    const identity = signIdentity(this.opts.secret, context.identity, { signer: "gateway", requestId });
    if (this.opts.batch === false) return this.call(this.singleHeaders(identity, requestId), body);
    // sent when this turn of the event loop has read what it could: the operations that came in with it go along
    return new Promise((resolve, reject) => this.turn.push({ identity, requestId, body, resolve, reject }));
  }

  /** RemoteGraphQLDataSource.sendRequest without the node-fetch Request and WHATWG Response per call. */
  private async send(request: GatewayGraphQLRequest, context?: GatewayContext): Promise<GatewayGraphQLResponse> {
    const { http: h, ...rest } = request;
    if (!h) throw new Error("Internal error: Only 'http' requests are supported.");
    const res = await this.replayedOr(context, () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of h.headers) headers[k] = v;
      return this.call(headers, JSON.stringify(rest));
    });
    if (!res.ok) throw await this.errorFromResponse(res as unknown as Response);
    const body = await this.parseBody(res as unknown as Response);
    if (!body || typeof body !== "object") throw new Error(`Expected JSON response body, but received: ${body}`);
    return { ...(body as object), http: res as unknown as GatewayHTTPResponse };
  }

  /** The answer forward() already received for this request (once), else a new call. */
  private async replayedOr(context: GatewayContext | undefined, call: () => Promise<SubgraphAnswer>): Promise<SubgraphAnswer> {
    const replay = context?.state.replay;
    if (!replay || replay.subgraph !== this.opts.name) return call();
    context.state.replay = undefined;
    if ("error" in replay) throw replay.error;
    return replay.answer;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext & Record<string, unknown>>): void {
    const headers = defined(request.http, "a subgraph request's http").headers;
    for (const [k] of [...headers]) if (k.toLowerCase().startsWith("x-mg-")) headers.delete(k);
    headers.set(
      IDENTITY_HEADER,
      signIdentity(this.opts.secret, context?.identity ?? ANONYMOUS, { signer: "gateway", requestId: context?.requestId }),
    );
    if (context?.requestId) headers.set("x-request-id", context.requestId);
  }
}
