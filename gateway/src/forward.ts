/**
 * Single-fetch forwarding (decision 0034). Most operations a shop serves — a product, the
 * categories, a search, `seckillBuy` — are answered by one subgraph alone: their query plan is a
 * single fetch that selects exactly what the client selected. For those, Apollo's pipeline re-does
 * work whose result is known in advance: it parses the subgraph's answer, walks it against the
 * operation to re-shape it (the same fields in the same order), and serialises it again.
 *
 * Here such an operation is recognised once per document (parse, validate against the API schema,
 * plan with the same planner the gateway uses, compare the fetch's selection with the client's) and
 * then sent straight to its subgraph through the same data source (identity header, time-out,
 * breaker, metrics, revocations). A plain answer (`{"data":…}` with no errors) is written to the
 * client as the subgraph sent it. Anything else — errors, a non-200 status, an unreachable subgraph
 * — is handed to the normal pipeline together with the answer already received (the data source
 * replays it instead of calling again), so errors are shaped, masked and counted exactly as before
 * and a mutation never runs twice.
 *
 * Not forwarded (the normal pipeline runs them): plans of more than one fetch, documents with
 * fragments or several operations, selections the planner rewrites (`__typename` added, abstract
 * types, conditions), invalid documents, variables that do not coerce, introspection, subscriptions,
 * and mutations sent with GET. With the response cache on, the queries of the callers it serves
 * (anonymous callers, members) are forwarded too and cached on this path (forward-cache.ts, decision
 * 0045); a mutation is never cached.
 */
import type { ServerResponse } from "node:http";
import { operationFromDocument, Supergraph } from "@apollo/federation-internals";
import { QueryPlanner, type FetchNode } from "@apollo/query-planner";
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode, TypeNode } from "graphql";
import type { SubgraphAnswer, SubgraphDataSource } from "./datasource.ts";
import { cachePolicy, privateKey, publicKey, type ForwardCache } from "./forward-cache.ts";
import { graphql } from "./graphql.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { GatewayContext, GatewayPlugin, GraphQLParams, RequestState } from "./plugins/types.ts";

/** What is known of a forwardable operation, once per document and operation name. */
export interface SingleFetch {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  subgraph: string;
  /** The fetch as the planner wrote it (what the normal pipeline would send). */
  query: string;
  operationName?: string;
  variableUsages: readonly string[];
  /**
   * The subgraph request's JSON up to its variables (`{"query":…,"operationName":…,"variables":`),
   * serialised once: per request only the variables are (the same bytes as serialising it whole).
   */
  bodyPrefix: string;
  /** The variables when each is a built-in scalar (checked without graphql-js's coercion); null otherwise. */
  scalars: readonly ScalarVariable[] | null;
}

export interface ScalarVariable {
  name: string;
  type: "ID" | "String" | "Int" | "Float" | "Boolean";
  nonNull: boolean;
  hasDefault: boolean;
}

const BUILT_IN_SCALARS = new Set(["ID", "String", "Int", "Float", "Boolean"]);
const INT_MAX = 2 ** 31 - 1;

/** The operation's variables when all are (non-null) built-in scalars; null when one is anything else. */
export function scalarVariables(operation: OperationDefinitionNode): ScalarVariable[] | null {
  const out: ScalarVariable[] = [];
  for (const d of operation.variableDefinitions ?? []) {
    const nonNull = d.type.kind === graphql.Kind.NON_NULL_TYPE;
    const named = nonNull ? (d.type as { type: TypeNode }).type : d.type;
    if (named.kind !== graphql.Kind.NAMED_TYPE || !BUILT_IN_SCALARS.has(named.name.value)) return null;
    out.push({ name: d.variable.name.value, type: named.name.value as ScalarVariable["type"], nonNull, hasDefault: !!d.defaultValue });
  }
  return out;
}

/**
 * True when graphql-js would coerce these values without an error: each value has the JS type its
 * scalar's parseValue accepts (ID: a string or an integer; Int: a 32-bit integer; Float: a finite
 * number), null only where nullable, absent only where nullable or defaulted. False means "not
 * known to be fine": the caller then runs the full coercion, which reports what is wrong.
 */
export function scalarsCoerce(defs: readonly ScalarVariable[], provided: Record<string, unknown>): boolean {
  for (const d of defs) {
    const v = provided[d.name];
    if (v === undefined) {
      if (d.nonNull && !d.hasDefault) return false;
      continue;
    }
    if (v === null) {
      if (d.nonNull) return false;
      continue;
    }
    const ok =
      d.type === "String"
        ? typeof v === "string"
        : d.type === "ID"
          ? typeof v === "string" || Number.isInteger(v)
          : d.type === "Int"
            ? Number.isInteger(v) && (v as number) <= INT_MAX && (v as number) >= -INT_MAX - 1
            : d.type === "Float"
              ? typeof v === "number" && Number.isFinite(v)
              : typeof v === "boolean";
    if (!ok) return false;
  }
  return true;
}

const MAX_DOCUMENTS = 2000;

export class SingleFetchPlanner {
  private readonly planner: QueryPlanner;
  private readonly supergraph: Supergraph;
  private readonly known = new Map<string, SingleFetch | null>();
  private schema: GraphQLSchema | undefined;

  constructor(supergraphSdl: string) {
    this.supergraph = Supergraph.build(supergraphSdl);
    this.planner = new QueryPlanner(this.supergraph);
  }

  /** The API schema the gateway serves (documents are validated against it); forgets what it knew. */
  setSchema(schema: GraphQLSchema): void {
    this.schema = schema;
    this.known.clear();
  }

  apiSchema(): GraphQLSchema {
    if (!this.schema) throw new Error("no API schema yet");
    return this.schema;
  }

  /** The single fetch of this document and operation, or null when the normal pipeline must run it. */
  lookup(query: string, operationName?: string | null): SingleFetch | null {
    const key = operationName ? `${operationName}\n${query}` : query;
    const hit = this.known.get(key);
    if (hit !== undefined) return hit;
    const found = this.plan(query, operationName ?? undefined);
    if (this.known.size >= MAX_DOCUMENTS) this.known.delete(this.known.keys().next().value as string);
    this.known.set(key, found);
    return found;
  }

  private plan(query: string, operationName: string | undefined): SingleFetch | null {
    const schema = this.schema;
    if (!schema) return null;
    let document: DocumentNode;
    try {
      document = graphql.parse(query);
    } catch {
      return null;
    }
    if (document.definitions.length !== 1) return null;
    const operation = graphql.getOperationAST(document, operationName);
    if (!operation || operation.operation === "subscription") return null;
    if (graphql.validate(schema, document).length > 0) return null;
    let node: FetchNode;
    try {
      const plan = this.planner.buildQueryPlan(operationFromDocument(this.supergraph.apiSchema(), document, { operationName }));
      if (plan.node?.kind !== "Fetch") return null;
      node = plan.node;
    } catch {
      return null;
    }
    if (node.requires || node.inputRewrites?.length || node.outputRewrites?.length || node.contextRewrites?.length) return null;
    const fetched = graphql.getOperationAST(graphql.parse(node.operation));
    if (!fetched || fetched.operation !== operation.operation) return null;
    // The subgraph's answer is the client's answer only if the fetch selects exactly what the client did.
    if (graphql.print(fetched.selectionSet) !== graphql.print(operation.selectionSet)) return null;
    const head = JSON.stringify({ query: node.operation, operationName: node.operationName });
    return {
      document,
      operation,
      subgraph: node.serviceName,
      query: node.operation,
      operationName: node.operationName,
      variableUsages: node.variableUsages ?? [],
      bodyPrefix: `${head.slice(0, -1)},"variables":`,
      scalars: scalarVariables(operation),
    };
  }

  /** The variables the fetch uses (as the normal pipeline sends them), or null when they do not coerce. */
  variables(fetch: SingleFetch, provided: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
    const schema = this.schema;
    if (!schema) return null;
    // most operations take built-in scalars: their values are checked directly, the rest coerced as Apollo would
    if (!fetch.scalars || !scalarsCoerce(fetch.scalars, provided ?? {})) {
      const coerced = graphql.getVariableValues(schema, fetch.operation.variableDefinitions ?? [], provided ?? {});
      if (coerced.errors) return null;
    }
    const sent: Record<string, unknown> = {};
    for (const name of fetch.variableUsages) if (provided && provided[name] !== undefined) sent[name] = provided[name];
    return sent;
  }
}

/**
 * Whether a subgraph's answer body is a plain result the client may receive as it is: data and no
 * errors. Subgraphs (Apollo Server and the platform's fast path) write `errors` before `data`, and
 * no top-level `extensions`; an answer that does not start with `{"data":{` is replayed instead.
 */
export function isPlainData(body: string): boolean {
  return body.startsWith('{"data":{') && !body.slice(-256).includes('"extensions":');
}

const isObject = (v: unknown) => v === undefined || v === null || (typeof v === "object" && !Array.isArray(v));

/** Parameters Apollo would accept as they are (it refuses the others with its own 400). */
function wellFormed(params: GraphQLParams): boolean {
  const name: unknown = params.operationName;
  return isObject(params.variables) && isObject(params.extensions) && (name === undefined || name === null || typeof name === "string");
}

export interface Forwarding {
  planner: SingleFetchPlanner;
  /** The data source of each subgraph (the gateway's own). */
  sources: ReadonlyMap<string, SubgraphDataSource>;
  plugins: readonly GatewayPlugin[];
  metrics: GatewayMetrics;
  /** Whether the response cache serves this caller's queries. */
  cached: (state: RequestState) => boolean;
  /**
   * The forwarded path's response cache (forward-cache.ts): with it, the cache's callers' queries are
   * forwarded and cached here; without it they go to the normal pipeline, whose plugin caches them.
   */
  cache?: ForwardCache;
}

/**
 * Runs the operation by single-fetch forwarding when it can and writes the answer; false when the
 * normal pipeline must run it (with `state.replay` set when the subgraph was already called).
 */
export async function forwardSingleFetch(f: Forwarding, params: GraphQLParams, state: RequestState, res: ServerResponse): Promise<boolean> {
  if (typeof params.query !== "string" || !wellFormed(params)) return false;
  const fetch = f.planner.lookup(params.query, params.operationName);
  if (!fetch) return false;
  // the response cache never reads or writes a mutation's answer: a member's seckillBuy is forwarded with the cache on too
  const mutation = fetch.operation.operation === "mutation";
  if (mutation && state.method !== "POST") return false;
  // the cache's callers' queries: read and filled here (index.ts gives a cache whenever `cached` can say yes)
  const cache = !mutation && f.cached(state) ? f.cache : undefined;
  const source = f.sources.get(fetch.subgraph);
  const variables = source ? f.planner.variables(fetch, params.variables) : null;
  if (!source || !variables) return false;
  const info = {
    document: fetch.document,
    operation: fetch.operation,
    variables: params.variables ?? {},
    schema: f.planner.apiSchema(),
    state,
  };
  for (const p of f.plugins) {
    if (!p.onOperation) continue;
    try {
      const checked = p.onOperation(info);
      if (checked instanceof Promise) await checked;
    } catch {
      return false; // refused: the normal pipeline refuses it again, with its error shape and status
    }
  }
  const context: GatewayContext = { identity: state.identity, requestId: state.requestId, state };
  const request = `${fetch.bodyPrefix}${JSON.stringify(variables)}}`;
  // the subgraph request is the key: the same document, operation and coerced variables
  const sessionId = state.identity.kind === "member" ? state.identity.sessionId : undefined;
  const shared = cache ? publicKey(state.identity.kind, request) : "";
  const mine = cache && sessionId ? privateKey(sessionId, request) : undefined;
  const hit = cache && (cache.get(shared) ?? (mine ? cache.get(mine) : undefined));
  if (hit) {
    f.metrics.singleFetchDone("cached");
    writeAnswer(res, state, hit.body, hit.cacheControl, String(Math.floor((Date.now() - hit.storedAt) / 1000)));
    state.outcome = { operationName: params.operationName ?? fetch.operation.name?.value, errors: [] };
    return true;
  }
  let answer: SubgraphAnswer;
  try {
    answer = await source.forward(request, context);
  } catch (error) {
    state.replay = { subgraph: fetch.subgraph, error };
    f.metrics.singleFetchDone("replayed");
    return false;
  }
  const body = answer.status === 200 ? answer.body : "";
  if (!isPlainData(body)) {
    state.replay = { subgraph: fetch.subgraph, answer };
    f.metrics.singleFetchDone("replayed");
    return false;
  }
  f.metrics.singleFetchDone("forwarded");
  const cacheControl = answer.headers.get("cache-control");
  writeAnswer(res, state, body, cacheControl);
  const policy = cache && cacheControl ? cachePolicy(cacheControl) : undefined;
  if (cache && cacheControl && policy) {
    // PUBLIC: shared by the callers of this identity kind; PRIVATE: this session only (never an anonymous caller's)
    const key = policy.scope === "PUBLIC" ? shared : mine;
    if (key) cache.set(key, body, cacheControl, policy.maxAge);
  }
  state.outcome = { operationName: params.operationName ?? fetch.operation.name?.value, errors: [] };
  return true;
}

/** Writes a plain answer (the subgraph's, or the cache's with its age in seconds). */
function writeAnswer(res: ServerResponse, state: RequestState, body: string, cacheControl: string | null | undefined, age?: string): void {
  const headers: Record<string, string> = state.responseHeaders;
  headers["content-type"] = "application/json; charset=utf-8";
  headers["content-length"] = String(Buffer.byteLength(body));
  headers["x-request-id"] = state.requestId;
  if (cacheControl) headers["cache-control"] = cacheControl;
  if (age !== undefined) headers["age"] = age;
  res.writeHead(200, headers).end(body);
}
