/**
 * How the gateway talks to a subgraph: the URL from config, the caller's identity signed into
 * `x-mg-identity` (client `x-mg-*` headers are never forwarded), keep-alive connections (one undici
 * Agent for every subgraph: connections are opened once and reused, no Nagle), a request time-out
 * and a circuit breaker per subgraph. The request is sent and its answer read without building
 * WHATWG/node-fetch Request and Response objects (RemoteGraphQLDataSource's default did both per
 * call): the answer is a small object with what the data source reads (status, headers, body).
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLResponse, GatewayGraphQLRequest, GatewayHTTPResponse } from "@apollo/server-gateway-interface";
import { ANONYMOUS, IDENTITY_HEADER, signIdentity, type Keys } from "@mallgraph/platform/auth";
import { defined, ErrorCode } from "@mallgraph/platform/errors";
import { REVOKED_SESSIONS_HEADER } from "@mallgraph/platform/revocation";
import { Agent, errors as undiciErrors, type Dispatcher } from "undici";
import { CircuitBreaker, CircuitOpenError } from "./circuit-breaker.ts";
import { clientError } from "./errors.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { GatewayContext } from "./plugins/types.ts";

const dispatcher = new Agent({
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  connections: 256,
  pipelining: 1,
  connect: { noDelay: true },
});

class SubgraphTimeout extends Error {}

/** What the data source reads of a subgraph's answer (a subset of a fetch Response). */
export interface SubgraphAnswer {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  /** The whole body, already read (what `text()` resolves to), for the forwarded path to use without a promise. */
  body: string;
}

/**
 * A subgraph's answer: the raw header list as undici hands it to a dispatch handler (name, value,
 * name, value… as Buffers) is looked up by name when asked (the forwarded path asks for two), never
 * parsed into an object; one object per answer (its own `headers`), methods on the prototype.
 */
class Answer implements SubgraphAnswer {
  readonly statusText = "";
  constructor(
    readonly status: number,
    readonly url: string,
    private readonly raw: readonly Buffer[],
    readonly body: string,
  ) {}
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get headers(): SubgraphAnswer["headers"] {
    return this;
  }
  get(name: string): string | null {
    const wanted = name.toLowerCase();
    const raw = this.raw;
    let found: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i];
      const value = raw[i + 1];
      if (!key || !value || key.length !== wanted.length || key.toString("latin1").toLowerCase() !== wanted) continue;
      const v = value.toString("latin1");
      found = found === null ? v : `${found}, ${v}`;
    }
    return found;
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.body);
  }
  async text(): Promise<string> {
    return this.body;
  }
}

const timedOut = (e: unknown) => e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError;

/**
 * One subgraph call as an undici dispatch handler: the answer's bytes are gathered as they arrive
 * and the call settles once with status, raw headers and the whole body. `dispatcher.request`
 * wraps the same call in a parsed header object and a Readable body stream read back with
 * `.text()` (in the first seckill profile, node:streams and undici's header parsing were about a
 * tenth of the gateway's busy CPU: bench/RESULTS.md, decision 0041).
 */
class Call implements Dispatcher.DispatchHandler {
  private status = 0;
  private raw: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  constructor(
    private readonly target: { url: string },
    private readonly timeoutMs: number,
    private readonly resolve: (a: SubgraphAnswer) => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  onConnect(): void {}
  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    this.raw = rawHeaders;
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  onComplete(): void {
    const c = this.chunks;
    const first = c[0];
    const text = c.length === 1 && first ? first.toString("utf8") : Buffer.concat(c).toString("utf8");
    this.resolve(new Answer(this.status, this.target.url, this.raw, text));
  }
  onError(e: Error): void {
    this.reject(timedOut(e) ? new SubgraphTimeout(`timed out after ${this.timeoutMs} ms`) : e);
  }
}

/** POST on a keep-alive connection; the body is read whole. Times out after `timeoutMs` without headers or body bytes. */
function post(
  target: { url: string; origin: string; path: string },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SubgraphAnswer> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(
      { origin: target.origin, path: target.path, method: "POST", headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      new Call(target, timeoutMs, resolve, reject),
    );
  });
}

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
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext & Record<string, unknown>> {
  private readonly target: { url: string; origin: string; path: string };

  constructor(readonly opts: SubgraphSourceOptions) {
    super({ url: opts.url });
    const u = new URL(opts.url);
    this.target = { url: opts.url, origin: u.origin, path: u.pathname + u.search };
    // RemoteGraphQLDataSource.sendRequest is private in its typings: replaced on the instance.
    Object.defineProperty(this, "sendRequest", { value: this.send.bind(this) });
  }

  /** Sends one subgraph request through the breaker; metrics and revocations as it answers. */
  private async call(headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    const { name, timeoutMs, breaker, metrics } = this.opts;
    const started = performance.now();
    let outcome = "ok";
    try {
      const res = await breaker.run(
        () => post(this.target, headers, body, timeoutMs),
        (r) => r.status >= 500,
      );
      const revoked = res.headers.get(REVOKED_SESSIONS_HEADER);
      if (revoked) this.opts.onRevokedSessions?.(revoked.split(","));
      if (res.status >= 500) outcome = "http_error";
      return res;
    } catch (e) {
      if (e instanceof CircuitOpenError) {
        outcome = "circuit_open";
        throw clientError(ErrorCode.SERVICE_UNAVAILABLE, e.message, { subgraph: name });
      }
      const timeout = e instanceof SubgraphTimeout;
      outcome = timeout ? "timeout" : "network_error";
      throw clientError(ErrorCode.SERVICE_UNAVAILABLE, timeout ? `subgraph ${name} timed out` : `subgraph ${name} is unreachable`, {
        subgraph: name,
      });
    } finally {
      metrics.subgraphCallDone(name, outcome, (performance.now() - started) / 1000);
    }
  }

  /**
   * One operation sent as the normal pipeline would send it (src/forward.ts: `body` is the request
   * JSON `{query, operationName, variables}`): the same headers, identity, breaker and metrics; the
   * answer is returned unread.
   */
  async forward(body: string, context: GatewayContext): Promise<SubgraphAnswer> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [IDENTITY_HEADER]: signIdentity(this.opts.secret, context.identity, { signer: "gateway", requestId: context.requestId }),
      "x-request-id": context.requestId,
    };
    return this.call(headers, body);
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
