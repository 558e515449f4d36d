/**
 * The fast path of a subgraph for its common request: a POST of one query or mutation
 * (`{ query, variables?, operationName? }`) whose document parses and validates. The document is
 * parsed, validated, compiled with graphql-jit and its cache policy computed once (bounded cache
 * by query text); each request then only coerces variables, runs the compiled resolvers and
 * serialises. What the request answers is what Apollo Server answers for it: the same data and
 * errors (errors formatted by the same `formatError`, `extensions.code` defaulted to
 * INTERNAL_SERVER_ERROR, `extensions.http` honoured), the same `cache-control` header from the
 * schema's `@cacheControl` hints (computed from the document: see `cachePolicyOf`).
 *
 * Everything else is left to Apollo Server (`tryExecute` answers `undefined`): GET, batches,
 * persisted queries (any `extensions`), documents that do not parse or validate, introspection,
 * subscriptions, and variables that do not coerce (nothing has run yet in that case).
 */
import { createRequire } from "node:module";
import type {
  DirectiveNode,
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLCompositeType,
  GraphQLField,
  GraphQLFormattedError,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

// graphql's CommonJS build, the one @apollo/subgraph builds schemas with and graphql-jit uses (an
// ESM-aware bundler, e.g. vitest, would otherwise hand this file graphql's .mjs build: another realm)
const {
  GraphQLError,
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  valueFromASTUntyped,
  Kind,
} = createRequire(import.meta.url)("graphql") as typeof import("graphql");

type Scope = "PUBLIC" | "PRIVATE";
interface Hint {
  maxAge?: number;
  scope?: Scope;
  inheritMaxAge?: boolean;
}

class Policy {
  maxAge: number | undefined;
  scope: Scope | undefined;
  restrict(h: Hint) {
    if (h.maxAge !== undefined && (this.maxAge === undefined || h.maxAge < this.maxAge)) this.maxAge = h.maxAge;
    if (h.scope !== undefined && this.scope !== "PRIVATE") this.scope = h.scope;
  }
  replace(h: Hint) {
    if (h.maxAge !== undefined) this.maxAge = h.maxAge;
    if (h.scope !== undefined) this.scope = h.scope;
  }
}

function hintOf(directives: readonly DirectiveNode[] | undefined): Hint | undefined {
  const d = directives?.find((x) => x.name.value === "cacheControl");
  const args = d?.arguments;
  if (!args) return undefined;
  const arg = (name: string) => args.find((a) => a.name.value === name)?.value;
  const scopeArg = arg("scope");
  const scopeName = scopeArg?.kind === Kind.ENUM ? scopeArg.value : undefined;
  const scope = scopeName === "PUBLIC" || scopeName === "PRIVATE" ? scopeName : undefined;
  const inherit = arg("inheritMaxAge");
  if (inherit?.kind === Kind.BOOLEAN && inherit.value) return { inheritMaxAge: true, scope };
  const maxAge = arg("maxAge");
  return { maxAge: maxAge?.kind === Kind.INT ? parseInt(maxAge.value, 10) : undefined, scope };
}

const typeHints = new WeakMap<GraphQLNamedType, Hint>();
function typeHint(t: GraphQLNamedType): Hint {
  let h = typeHints.get(t);
  if (!h) {
    h = hintOf(t.astNode?.directives) ?? t.extensionASTNodes?.map((n) => hintOf(n.directives)).find(Boolean) ?? {};
    typeHints.set(t, h);
  }
  return h;
}

/** The header for a policy, as Apollo Server writes it. */
function header(p: Policy): string {
  if (p.maxAge === undefined || p.maxAge === 0) return "no-store";
  return `max-age=${p.maxAge}, ${(p.scope ?? "PUBLIC").toLowerCase()}`;
}

/**
 * The `cache-control` header Apollo Server's cache-control plugin would send (default max-age 0),
 * computed from every field the operation selects rather than from the fields that resolved: the
 * same rules (a root field or an object field without a hint is uncacheable unless it inherits;
 * the smallest max-age and PRIVATE win), applied to a superset of the fields — so it is never more
 * cacheable than Apollo's, at most less (a field under a null parent still counts). Fields of an
 * abstract type count for every possible type. `_entities` is restricted by the hints of the types
 * its representations name, as @apollo/subgraph's entities resolver does — hence a function of the
 * request's variables.
 */
export function cachePolicyOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): (variables: Record<string, unknown>) => string {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const overall = new Policy();
  const seen = new Set<string>();
  const entityFields: FieldNode[] = [];
  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, root: boolean) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        if (t && isCompositeType(t)) walk(sel.selectionSet, t, root);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        const t = f && schema.getType(f.typeCondition.name.value);
        const key = `${sel.name.value}:${parent.name}:${root}`;
        if (f && t && isCompositeType(t) && !seen.has(key)) {
          seen.add(key);
          walk(f.selectionSet, t, root);
        }
        continue;
      }
      if (sel.name.value.startsWith("__")) continue; // __typename: no resolver, no hint
      const objects = isAbstractType(parent) ? schema.getPossibleTypes(parent) : isObjectType(parent) ? [parent] : [];
      for (const o of objects) {
        const field = o.getFields()[sel.name.value];
        if (!field) continue;
        const target = getNamedType(field.type);
        const composite = isCompositeType(target);
        if (root && sel.name.value === "_entities" && o === schema.getQueryType())
          entityFields.push(sel); // restricted per request
        else overall.restrict(fieldPolicy(field, root));
        if (sel.selectionSet && composite) walk(sel.selectionSet, target, false);
      }
    }
  };
  const rootType = operation.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  if (rootType) walk(operation.selectionSet, rootType, true);
  const fixed = header(overall);
  if (!entityFields.length || overall.maxAge === 0) return () => fixed;
  return (variables) => {
    const p = new Policy();
    p.replace(overall);
    for (const f of entityFields) {
      const fp = new Policy();
      const arg = f.arguments?.find((a) => a.name.value === "representations")?.value;
      const reps = arg ? valueFromASTUntyped(arg, variables) : undefined;
      const names = new Set<string>();
      if (Array.isArray(reps))
        for (const r of reps) if (r && typeof r === "object" && typeof r.__typename === "string") names.add(r.__typename);
      for (const name of names) {
        const t = schema.getType(name);
        if (t && (isObjectType(t) || isInterfaceType(t))) fp.restrict(typeHint(t));
      }
      if (fp.maxAge === undefined) fp.restrict({ maxAge: 0 }); // a root field of a composite type without a hint
      p.restrict(fp);
    }
    return header(p);
  };
}

/** The policy of one resolved field (Apollo's willResolveField of the cache-control plugin, default max-age 0). */
function fieldPolicy(field: GraphQLField<unknown, unknown>, root: boolean): Policy {
  const policy = new Policy();
  let inherit = false;
  const target = getNamedType(field.type);
  const composite = isCompositeType(target);
  if (composite) {
    const th = typeHint(target);
    policy.replace(th);
    inherit = !!th.inheritMaxAge;
  }
  const fh = hintOf(field.astNode?.directives) ?? {};
  if (fh.inheritMaxAge && policy.maxAge === undefined) {
    inherit = true;
    if (fh.scope) policy.replace({ scope: fh.scope });
  } else policy.replace(fh);
  if (policy.maxAge === undefined && ((composite && !inherit) || root)) policy.restrict({ maxAge: 0 });
  return policy;
}

interface Entry {
  compiled: CompiledQuery;
  cacheControl: (variables: Record<string, unknown>) => string;
}

export interface FastResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface FastExecutorOptions {
  /** Apollo Server's `formatError` of the subgraph (same signature). */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Documents kept compiled (least recently used dropped first). */
  maxDocuments?: number;
}

function usesIntrospection(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): boolean {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value === "__schema" || sel.name.value === "__type") return true;
      if (sel.selectionSet && usesIntrospection(sel.selectionSet, fragments, seen)) return true;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      if (usesIntrospection(sel.selectionSet, fragments, seen)) return true;
    } else if (!seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      const f = fragments.get(sel.name.value);
      if (f && usesIntrospection(f.selectionSet, fragments, seen)) return true;
    }
  }
  return false;
}

export function createFastExecutor(schema: GraphQLSchema, opts: FastExecutorOptions = {}) {
  const max = opts.maxDocuments ?? 1000;
  const formatError = opts.formatError ?? ((f: GraphQLFormattedError) => f);
  /** Query text (+ operation name) → compiled entry, or null: Apollo Server handles it. */
  const documents = new Map<string, Entry | null>();

  function prepare(query: string, operationName: string | undefined): Entry | null {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch {
      return null;
    }
    if (validate(schema, document, specifiedRules).length) return null;
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation === "subscription") return null;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    if (usesIntrospection(operation.selectionSet, fragments)) return null;
    const compiled = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
    if (!isCompiledQuery(compiled)) return null;
    return { compiled, cacheControl: cachePolicyOf(schema, document, operation) };
  }

  function entry(query: string, operationName: string | undefined): Entry | null {
    const key = operationName ? `${operationName}\u0000${query}` : query;
    let e = documents.get(key);
    if (e === undefined) {
      e = prepare(query, operationName);
      const oldest = documents.keys().next();
      if (documents.size >= max && !oldest.done) documents.delete(oldest.value);
    } else documents.delete(key); // re-insert: most recently used last
    documents.set(key, e);
    return e;
  }

  /**
   * Runs the request when it is the common case; `undefined` when Apollo Server should handle it
   * (nothing has been executed then). `context` is called at most once, only when executing.
   */
  async function tryExecute(
    method: string | undefined,
    body: unknown,
    context: () => unknown | Promise<unknown>,
  ): Promise<FastResponse | undefined> {
    if (method !== "POST" || !body || typeof body !== "object" || Array.isArray(body)) return undefined;
    const { query, variables, operationName, extensions } = body as Record<string, unknown>;
    if (typeof query !== "string" || extensions != null) return undefined;
    if (operationName != null && typeof operationName !== "string") return undefined;
    if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) return undefined;
    const e = entry(query, operationName ?? undefined);
    if (!e) return undefined;
    const vars = (variables ?? {}) as Record<string, unknown>;
    const result = await e.compiled.query(undefined, await context(), vars);
    if (result.errors?.length && result.data === undefined) return undefined; // variables did not coerce: Apollo answers (400)
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    let status = 200;
    let errors: unknown[] | undefined;
    if (result.errors?.length) {
      errors = result.errors.map((err) => {
        try {
          const g =
            err instanceof GraphQLError ? err : new GraphQLError(String((err as Error)?.message ?? err), { originalError: err as Error });
          const extensions: Record<string, unknown> = { ...g.extensions, code: g.extensions?.code ?? "INTERNAL_SERVER_ERROR" };
          const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
          if (http && typeof http === "object") {
            if (typeof http.status === "number") status = http.status;
            if (http.headers instanceof Map) for (const [k, v] of http.headers) headers[k] = v;
            delete extensions.http;
          }
          return formatError({ ...g.toJSON(), extensions }, err);
        } catch {
          return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
        }
      });
    }
    headers["cache-control"] = errors ? "no-store" : e.cacheControl(vars);
    // the same bytes as Apollo Server: errors before data, a trailing newline
    return { status, headers, body: `${JSON.stringify(errors ? { errors, data: result.data } : { data: result.data })}\n` };
  }

  return { tryExecute };
}
