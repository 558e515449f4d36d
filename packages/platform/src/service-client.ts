/**
 * Service-to-service calls: a small GraphQL client that posts to another subgraph directly (not
 * through the gateway) with a signed internal identity. Used for cross-domain writes such as
 * reserving stock or freezing a wallet balance; the called fields are `@inaccessible` in the
 * supergraph and guarded by the called subgraph's caller table (`internalFields`). The service
 * signs its own internal identity with its own secret; it cannot speak for a member or operator.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { Agent } from "undici";
import { signIdentity, serviceIdentity, IDENTITY_HEADER, type Keys } from "./auth.ts";
import { AppError, ErrorCode, type DomainErrorCode } from "./errors.ts";

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

export function createServiceClient(opts: { url: string; secret: Keys; service: string; timeoutMs?: number }): ServiceClient {
  const identity = Object.freeze(serviceIdentity(opts.service));
  const url = new URL(opts.url);
  const target = { origin: url.origin, path: url.pathname + url.search };
  return {
    async request<T>(query: string, variables?: Record<string, unknown>, requestId: string = randomUUID()): Promise<T> {
      const timeout = opts.timeoutMs ?? 10_000;
      const deadline = new EventEmitter();
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        deadline.emit("abort");
      }, timeout);
      let status: number;
      let text: string;
      try {
        const res = await dispatcher.request({
          origin: target.origin,
          path: target.path,
          method: "POST",
          headers: {
            "content-type": "application/json",
            [IDENTITY_HEADER]: signIdentity(opts.secret, identity, { requestId }),
            "x-request-id": requestId,
          },
          body: JSON.stringify({ query, variables }),
          signal: deadline,
          headersTimeout: timeout,
          bodyTimeout: timeout,
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (e) {
        const why = late ? `no complete answer within ${timeout} ms` : (e as Error).message;
        throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${opts.url} unreachable: ${why}`);
      } finally {
        clearTimeout(timer);
      }
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
