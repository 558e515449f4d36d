/**
 * The gateway's plugin shape (envelop style): `useX(options)` returns only the hooks it needs.
 * The gateway runs them in the order given, for HTTP requests and for graphql-ws operations alike.
 */
import type { Identity } from "@mallgraph/platform/auth";
import type { PartnerKeyRecord } from "@mallgraph/platform/partner-keys";
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode } from "graphql";
import type { SubgraphAnswer } from "../datasource.ts";

/** What one request (or one graphql-ws operation) carries through the hooks. */
export interface RequestState {
  transport: "http" | "ws";
  /** Lower-cased request headers (for ws: the upgrade request's headers). */
  headers: Record<string, string | undefined>;
  /** Client address (the socket's remote address). */
  ip: string;
  /** `apollographql-client-name` header (ws: connection param `clientName` or the upgrade header). */
  clientName?: string;
  /** Caller identity, set by useAuth (anonymous until then; kind partner for an `x-api-key`). */
  identity: Identity;
  /** The partner key of the request (usePartnerKeys): the manifest operations it may run and its limit. */
  partner?: PartnerKeyRecord;
  requestId: string;
  /** HTTP method (`GET` / `POST`); ws operations use `WS`. */
  method: string;
  /** Headers the response should carry (e.g. Retry-After). */
  responseHeaders: Record<string, string>;
  /**
   * A subgraph answer (or the error of the call) that single-fetch forwarding already received and
   * hands to the normal pipeline: the data source of that subgraph uses it instead of calling again.
   */
  replay?: { subgraph: string; answer: SubgraphAnswer } | { subgraph: string; error: unknown };
  /** Filled in once the operation ran: its name and the errors the client got (for onResponse). */
  outcome?: { operationName?: string; errors: readonly GraphQLFormattedError[] };
}

/** The GraphQL request parameters (body of a POST, search of a GET, payload of a ws subscribe). */
export interface GraphQLParams {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

export interface OperationInfo {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  /** The public (API) schema of the supergraph. */
  schema: GraphQLSchema;
  state: RequestState;
}

export interface GatewayPlugin {
  name: string;
  /** Before the GraphQL parameters are read: authenticate, rate-limit. Throw an AppError to refuse. */
  onRequest?(state: RequestState): void | Promise<void>;
  /** Resolves or checks the parameters (persisted queries, safelist). Returns the params to run. */
  onParams?(params: GraphQLParams, state: RequestState): GraphQLParams | Promise<GraphQLParams>;
  /** The parsed, validated operation before it runs (depth and cost limits). Throw to refuse. */
  onOperation?(info: OperationInfo): void | Promise<void>;
  /** Formats one error of a response (masking). `error` is the original error when known. */
  onError?(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** After a response was produced (metrics). */
  onResponse?(info: {
    state: RequestState;
    operationName?: string;
    durationSeconds: number;
    errors: readonly GraphQLFormattedError[];
  }): void;
}

/** Context of a gateway execution (Apollo's contextValue); read by the subgraph data sources. */
export interface GatewayContext {
  identity: Identity;
  requestId: string;
  state: RequestState;
}
