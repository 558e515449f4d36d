/**
 * @mallgraph/client — typed contract operations for TypeScript frontends.
 *
 *   import { createClient, ProductDocument } from "@mallgraph/client";
 *   const client = createClient({ url: "http://localhost:4000/graphql", token: () => accessToken });
 *   const { product } = await client.request(ProductDocument, { id: "…" }); // typed result and variables
 *
 * Each `<Name>Document` prints to exactly the body of that operation in the trusted-operation
 * manifest, so partner keys and the safelist accept it as the identical document.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

export * from "./generated/graphql.ts";
export { graphql } from "./generated/gql.ts";

/** A GraphQL error as the gateway answers it: a message and a stable `extensions.code`. */
export interface ApiError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

export class GraphQLRequestError extends Error {
  constructor(
    readonly errors: ApiError[],
    readonly status: number,
  ) {
    super(errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; "));
    this.name = "GraphQLRequestError";
  }

  /** The stable codes of every error, e.g. `["UNAUTHENTICATED"]`. */
  get codes(): string[] {
    return this.errors.map((e) => e.extensions?.code ?? "ERROR");
  }
}

export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** The member's or operator's access token, read before every request (so a refreshed token is used). */
  token?: () => string | undefined;
  /** A partner's API key, sent as `x-api-key`. */
  apiKey?: string;
  /** Sent as `apollographql-client-name` (shown in the gateway's logs and limits). */
  clientName?: string;
  fetch?: typeof fetch;
}

export function createClient(options: ClientOptions) {
  const doFetch = options.fetch ?? fetch;
  return {
    /** Runs one operation; resolves with its `data`, rejects with a GraphQLRequestError on any error. */
    async request<TResult, TVariables>(
      document: TypedDocumentNode<TResult, TVariables>,
      ...[variables]: TVariables extends Record<string, never> ? [] | [TVariables] : [TVariables]
    ): Promise<TResult> {
      const headers: Record<string, string> = { "content-type": "application/json" };
      const token = options.token?.();
      if (token) headers.authorization = `Bearer ${token}`;
      if (options.apiKey) headers["x-api-key"] = options.apiKey;
      if (options.clientName) headers["apollographql-client-name"] = options.clientName;
      const response = await doFetch(options.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
      });
      const body = (await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }))) as {
        data?: TResult;
        errors?: ApiError[];
      };
      if (body.errors?.length || body.data == null) throw new GraphQLRequestError(body.errors ?? [{ message: "no data" }], response.status);
      return body.data;
    },
  };
}
