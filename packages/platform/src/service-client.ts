/**
 * Service-to-service calls: a small GraphQL client that posts to another subgraph directly (not
 * through the gateway) with a signed internal identity. Used for cross-domain writes such as
 * reserving stock or freezing a wallet balance; the called fields are `@inaccessible` in the
 * supergraph and guarded by the called subgraph's caller table (`internalFields`). The service
 * signs its own internal identity with its own secret; it cannot speak for a member or operator.
 *
 * Calls to one provider made in the same turn of the event loop go as one batch (decision 0053,
 * the subgraph's `/graphql/batch` endpoint of decision 0048): each element keeps its own signed
 * identity, request id and answer, only the HTTP exchange is shared. One call alone goes to
 * `/graphql` as before; a provider without the batch endpoint (404/405: nothing ran) gets single
 * calls for a minute. `SERVICE_CALL_BATCH=off` sends every call on its own.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { Agent } from "undici";
import { signIdentity, serviceIdentity, IDENTITY_HEADER, type Keys } from "./auth.ts";
import { AppError, ErrorCode, type DomainErrorCode } from "./errors.ts";
import { postBatch, SubgraphTimeout, TurnQueue, type QueuedRequest } from "./subgraph-batch-http.ts";
import { batchPath, encodeBatchRequest, type ElementAnswer } from "./subgraph-batch.ts";

/**
 * One keep-alive connection pool for every service call of the process, used through undici's
 * `request` rather than `fetch`: no WHATWG Request/Response/stream and no AbortSignal per call
 * (they were a tenth of the order subgraph's CPU while placing orders, bench/RESULTS.md).
 *
 * `timeoutMs` is ONE deadline for the whole call — connecting, sending, the headers and the last
 * byte of the body. undici's own `headersTimeout` / `bodyTimeout` are per phase, and `bodyTimeout`
 * is the longest pause between two chunks: a provider trickling its answer would hold a caller for
 * ever. The deadline is a plain timer that aborts the request through an EventEmitter, which undici
 * takes as its signal (no AbortController per call).
 */
const dispatcher = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 128, connect: { noDelay: true } });

export interface ServiceClient {
  /** `requestId`: the request this call is part of, when the caller knows it (default: a new id). */
  request<T = unknown>(query: string, variables?: Record<string, unknown>, requestId?: string): Promise<T>;
}

/** What a call's exchange answered: its HTTP status and body. */
interface Exchanged {
  status: number;
  text: string;
}

interface Pending extends QueuedRequest {
  resolve: (x: Exchanged) => void;
  reject: (e: unknown) => void;
}

export interface ServiceClientOptions {
  url: string;
  secret: Keys;
  service: string;
  timeoutMs?: number;
  /** Batch the calls of one event-loop turn (decision 0053); default: unless SERVICE_CALL_BATCH=off. */
  batch?: boolean;
}

export function createServiceClient(opts: ServiceClientOptions): ServiceClient {
  const identity = Object.freeze(serviceIdentity(opts.service));
  const url = new URL(opts.url);
  const target = { origin: url.origin, path: url.pathname + url.search };
  const batchTarget = { origin: url.origin, path: batchPath(url.pathname) + url.search };
  const timeout = opts.timeoutMs ?? 10_000;
  const batching = opts.batch ?? process.env.SERVICE_CALL_BATCH !== "off";
  const unreachable = (why: string) => new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${opts.url} unreachable: ${why}`);

  /** One call as a request of its own. */
  async function single(p: Pending): Promise<Exchanged> {
    const deadline = new EventEmitter();
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      deadline.emit("abort");
    }, timeout);
    try {
      const res = await dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers: { "content-type": "application/json", [IDENTITY_HEADER]: p.identity, "x-request-id": p.requestId },
        body: p.body,
        signal: deadline,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (e) {
      throw unreachable(late ? `no complete answer within ${timeout} ms` : (e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Several calls as one batch: each settles with its own answer as soon as its frame arrives; a
   * failed or cut-short exchange fails the calls not answered yet, as it would have failed a call of
   * its own. One time-out from the batch's start (the calls were made in the turn before).
   */
  async function batch(q: Pending[]): Promise<void> {
    const settled: boolean[] = [];
    const onElement = (index: number, a: ElementAnswer): boolean => {
      const p = q[index];
      if (!p || settled[index]) return false;
      settled[index] = true;
      p.resolve({ status: a.status, text: a.body });
      return true;
    };
    try {
      const x = await postBatch(dispatcher, batchTarget, encodeBatchRequest(q), timeout, onElement);
      if (!x.batch && (x.status === 404 || x.status === 405)) {
        turn.unsupported();
        for (const p of q) single(p).then(p.resolve, p.reject);
        return;
      }
      if (!x.batch) throw new Error(`answered a batch with HTTP ${x.status}`);
      if (x.answered < q.length) throw new Error(`${x.answered} answers to a batch of ${q.length}`);
    } catch (e) {
      const error = unreachable(e instanceof SubgraphTimeout ? `no complete answer within ${timeout} ms` : (e as Error).message);
      q.forEach((p, i) => {
        if (!settled[i]) p.reject(error);
      });
    }
  }

  /** The calls of this event-loop turn: one alone as a request of its own, several as one batch. */
  const turn = new TurnQueue<Pending>((q, asBatch) => {
    if (asBatch) void batch(q);
    else for (const p of q) single(p).then(p.resolve, p.reject);
  });

  const exchange = (requestId: string, body: string): Promise<Exchanged> => {
    const signed = signIdentity(opts.secret, identity, { requestId });
    return new Promise<Exchanged>((resolve, reject) => {
      const p: Pending = { identity: signed, requestId, body, resolve, reject };
      if (batching) turn.push(p);
      else single(p).then(resolve, reject);
    });
  };

  return {
    async request<T>(query: string, variables?: Record<string, unknown>, requestId: string = randomUUID()): Promise<T> {
      const { status, text } = await exchange(requestId, JSON.stringify({ query, variables }));
      let json: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // not JSON: answered below as "without data"
      }
      const e = json.errors?.[0];
      if (e) {
        // the provider's code as it sent it (shared, or one the provider's domain declared)
        throw new AppError((e.extensions?.code as ErrorCode | DomainErrorCode | undefined) ?? ErrorCode.INTERNAL_SERVER_ERROR, e.message);
      }
      if (!json.data) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${opts.url} answered ${status} without data`);
      return json.data;
    },
  };
}
