/**
 * Service-to-service calls: a small GraphQL client that posts to another subgraph directly (not
 * through the gateway) with a signed internal identity. Used for cross-domain writes such as
 * reserving stock or freezing a wallet balance; the called fields are `@inaccessible` in the
 * supergraph and guarded by the called subgraph's caller table (`internalFields`). The service
 * signs its own internal identity with its own secret; it cannot speak for a member or operator.
 */
import { randomUUID } from "node:crypto";
import { signIdentity, serviceIdentity, IDENTITY_HEADER, type Keys } from "./auth.ts";
import { AppError, ErrorCode, type DomainErrorCode } from "./errors.ts";

export interface ServiceClient {
  /** `requestId`: the request this call is part of, when the caller knows it (default: a new id). */
  request<T = unknown>(query: string, variables?: Record<string, unknown>, requestId?: string): Promise<T>;
}

export function createServiceClient(opts: { url: string; secret: Keys; service: string; timeoutMs?: number }): ServiceClient {
  const identity = serviceIdentity(opts.service);
  return {
    async request<T>(query: string, variables?: Record<string, unknown>, requestId: string = randomUUID()): Promise<T> {
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [IDENTITY_HEADER]: signIdentity(opts.secret, identity, { requestId }),
            "x-request-id": requestId,
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch (e) {
        throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${opts.url} unreachable: ${(e as Error).message}`);
      }
      const json = (await res.json().catch(() => ({}))) as {
        data?: T;
        errors?: Array<{ message: string; extensions?: { code?: string } }>;
      };
      const e = json.errors?.[0];
      if (e) {
        // the provider's code as it sent it (shared, or one the provider's domain declared)
        throw new AppError((e.extensions?.code as ErrorCode | DomainErrorCode | undefined) ?? ErrorCode.INTERNAL_SERVER_ERROR, e.message);
      }
      if (!json.data) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${opts.url} answered ${res.status} without data`);
      return json.data;
    },
  };
}
