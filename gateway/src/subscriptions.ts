/**
 * Subscriptions, run by the gateway (Apollo Gateway composes Subscription fields but does not execute
 * them). One generic rule, from docs/service-contracts.md — no per-domain code here:
 *
 *   the subgraph owning `Subscription.F(args): T` also serves `Query.FEvent(args, eventId: ID!): T`
 *   (guarded by asGatewayEvent) and publishes `LiveEvent { eventId, keys, audience?, sessions? }` on
 *   Redis channel `<REDIS_PREFIX>:events:F` after its transaction commits.
 *
 * For `subscription { F(args) { …selection } }` the gateway (1) authenticates the graphql-ws
 * connection (connectionParams.authorization, same verification as HTTP), (2) listens on the channel
 * through ONE shared Redis subscriber connection per gateway process, (3) drops events whose keys
 * differ from the client's arguments, whose audience lacks the subscriber's id or whose sessions lack
 * the subscriber's session, (4) rewrites the document once into
 * `query { F: FEvent(args, eventId: $__eventId) { …selection } }` and runs it per event through the
 * gateway's normal federated executor with the identity captured at connect time plus
 * `service: "gateway"`, and (5) pushes the result. A client whose buffer of undelivered events
 * overflows is disconnected (close code 4429), so a slow client cannot hold the gateway's memory.
 */
import {
  type GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { eventChannel, type LiveEvent } from "@mallgraph/platform/events";
import type { Identity } from "@mallgraph/platform/auth";
import { ErrorCode } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import type { GatewayMetrics } from "./metrics.ts";
import { clientError, isGraphQLError } from "./errors.ts";
import { graphql } from "./graphql.ts";

const { Kind, getArgumentValues, getOperationAST, getVariableValues, isObjectType, parse, print, validate } = graphql;
import type { AuthPlugin } from "./plugins/useAuth.ts";
import type { GatewayContext, GatewayPlugin, GraphQLParams, RequestState } from "./plugins/types.ts";
import type { ClientIp } from "./client-ip.ts";

// ------------------------------------------------------------------ the shared Redis subscriber

type Listener = (event: LiveEvent) => void;

/** One Redis subscriber connection for the whole process; channels are (un)subscribed on demand. */
export class LiveEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    sub.on("ready", () => log.info({ channels: [...this.listeners.keys()] }, "live-event subscriber connected"));
    sub.on("reconnecting", () => log.warn("live-event subscriber reconnecting (events published meanwhile are lost)"));
    sub.on("message", (channel: string, message: string) => {
      const set = this.listeners.get(channel);
      if (!set?.size) return;
      let event: LiveEvent;
      try {
        event = JSON.parse(message) as LiveEvent;
        if (!event || typeof event.eventId !== "string") throw new Error("no eventId");
      } catch (e) {
        this.log.warn({ channel, err: e }, "ignoring malformed live event");
        return;
      }
      for (const l of [...set]) l(event);
    });
  }

  /** Calls `listener` for every event of subscription field `field` until the returned function is called. */
  async listen(field: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = eventChannel(this.prefix, field);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (set.size === 1) {
      // Subscribe on a ready connection and check Redis counted it: a SUBSCRIBE queued while
      // the connection is still being set up is not something to take on trust.
      if (this.sub.status !== "ready") await new Promise<void>((resolve) => this.sub.once("ready", () => resolve()));
      const count = await this.sub.subscribe(channel);
      if (!(Number(count) >= 1)) throw new Error(`SUBSCRIBE ${channel} was not acknowledged`);
      this.log.info({ channel }, "subscribed to live events");
    }
    return async () => {
      const s = this.listeners.get(channel);
      if (!s || !s.delete(listener)) return;
      if (s.size === 0) {
        this.listeners.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.sub.disconnect();
  }
}

// ------------------------------------------------------------------ planning and filtering

export interface SubscriptionPlan {
  /** The Subscription field F. */
  field: string;
  /** Where the payload sits in the result (the client's alias or F). */
  responseKey: string;
  /** The rewritten `FEvent` query, printed once. */
  query: string;
  operationName?: string;
  /** F's argument values (after variables), compared with each event's keys. */
  args: Record<string, unknown>;
}

export const EVENT_ID_VARIABLE = "__eventId";

/** Checks the subscription and rewrites it into the `FEvent` query. Throws GraphQLError. */
export function planSubscription(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): SubscriptionPlan {
  const roots = operation.selectionSet.selections;
  const root = roots[0];
  if (roots.length !== 1 || root?.kind !== Kind.FIELD) {
    throw clientError(ErrorCode.BAD_USER_INPUT, "a subscription must select exactly one field directly");
  }
  const subType = schema.getSubscriptionType();
  const fieldDef = subType?.getFields()[root.name.value];
  const queryType = schema.getQueryType();
  const eventName = `${root.name.value}Event`;
  const eventDef = queryType && isObjectType(queryType) ? queryType.getFields()[eventName] : undefined;
  if (!fieldDef || !eventDef) {
    throw clientError(ErrorCode.BAD_USER_INPUT, `subscription ${root.name.value} is not served (no Query.${eventName})`);
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) throw coerced.errors[0]!;
  const args = getArgumentValues(fieldDef, root, coerced.coerced);

  const eventField: FieldNode = {
    ...root,
    alias: { kind: Kind.NAME, value: root.alias?.value ?? root.name.value },
    name: { kind: Kind.NAME, value: eventName },
    arguments: [
      ...(root.arguments ?? []),
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: "eventId" }, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } } },
    ],
  };
  const query: OperationDefinitionNode = {
    ...operation,
    operation: "query" as OperationDefinitionNode["operation"],
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []),
      {
        kind: Kind.VARIABLE_DEFINITION,
        variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
        type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: "ID" } } },
      },
    ],
    selectionSet: { kind: Kind.SELECTION_SET, selections: [eventField] },
  };
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return {
    field: root.name.value,
    responseKey: root.alias?.value ?? root.name.value,
    query: print({ kind: Kind.DOCUMENT, definitions: [query, ...fragments] }),
    operationName: operation.name?.value,
    args,
  };
}

/** Whether a subscriber with these arguments and this identity gets the event. */
export function eventMatches(event: LiveEvent, args: Record<string, unknown>, identity: Identity): boolean {
  for (const [k, v] of Object.entries(event.keys ?? {})) {
    const mine = args[k];
    // An argument the client left out watches every value; one it gave must be equal.
    if (mine !== undefined && mine !== null && String(mine) !== String(v)) return false;
  }
  if (event.audience && !(identity.id && event.audience.includes(identity.id))) return false;
  if (event.sessions && !(identity.sessionId && event.sessions.includes(identity.sessionId))) return false;
  return true;
}

// ------------------------------------------------------------------ one client's stream

export type Execute = (request: { query: string; variables: Record<string, unknown>; operationName?: string }, context: GatewayContext) => Promise<FormattedExecutionResult>;

interface StreamOptions {
  hub: LiveEventHub;
  plan: SubscriptionPlan;
  variables: Record<string, unknown>;
  context: GatewayContext;
  execute: Execute;
  bufferSize: number;
  onOverflow: () => void;
  metrics: GatewayMetrics;
  log: Logger;
}

/** The async iterator graphql-ws pulls results from: events are queued (bounded) and run one at a time. */
function eventStream(o: StreamOptions): AsyncGenerator<FormattedExecutionResult> {
  const queue: LiveEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let stopListening: (() => Promise<void>) | undefined;
  const { field } = o.plan;
  const identity = { ...o.context.identity, service: "gateway" };
  o.metrics.subscriptions.inc({ field });

  const finish = async () => {
    if (done) return;
    done = true;
    o.metrics.subscriptions.dec({ field });
    wake?.();
    await stopListening?.();
  };
  const listening = o.hub
    .listen(field, (event) => {
      if (done) return;
      if (!eventMatches(event, o.plan.args, o.context.identity)) {
        o.metrics.subscriptionEvents.inc({ field, outcome: "filtered" });
        return;
      }
      if (queue.length >= o.bufferSize) {
        o.metrics.subscriptionEvents.inc({ field, outcome: "dropped" });
        o.log.warn({ field, identity: o.context.identity.id }, "subscriber too slow: disconnecting");
        void finish();
        o.onOverflow();
        return;
      }
      queue.push(event);
      wake?.();
    })
    .then((stop) => {
      stopListening = stop;
      if (done) void stop();
    });

  const gen: AsyncGenerator<FormattedExecutionResult> = {
    async next(): Promise<IteratorResult<FormattedExecutionResult>> {
      await listening;
      while (!done) {
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        let result: FormattedExecutionResult;
        try {
          result = await o.execute(
            { query: o.plan.query, variables: { ...o.variables, [EVENT_ID_VARIABLE]: event.eventId }, operationName: o.plan.operationName },
            { ...o.context, identity, requestId: randomUUID() },
          );
        } catch (e) {
          o.log.error({ err: e, field }, "live event execution failed");
          o.metrics.subscriptionEvents.inc({ field, outcome: "failed" });
          continue;
        }
        const payload = (result.data as Record<string, unknown> | null | undefined)?.[o.plan.responseKey];
        if (payload === null || payload === undefined) {
          // Not for this subscriber (the subgraph's own check said no) or gone: nothing to push,
          // unless the failure is one the client should hear about.
          const codes = (result.errors ?? []).map((e) => e.extensions?.code);
          const quiet = codes.length === 0 || codes.every((c) => c === ErrorCode.FORBIDDEN || c === ErrorCode.UNAUTHENTICATED || c === ErrorCode.NOT_FOUND);
          o.metrics.subscriptionEvents.inc({ field, outcome: quiet ? "filtered" : "failed" });
          if (quiet) continue;
        } else o.metrics.subscriptionEvents.inc({ field, outcome: "pushed" });
        return { value: result, done: false };
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<FormattedExecutionResult>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(e: unknown): Promise<IteratorResult<FormattedExecutionResult>> {
      await finish();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return gen;
    },
    async [Symbol.asyncDispose]() {
      await finish();
    },
  } as AsyncGenerator<FormattedExecutionResult>;
  return gen;
}

// ------------------------------------------------------------------ graphql-ws server

export interface SubscriptionServerOptions {
  wss: WebSocketServer;
  getSchema: () => GraphQLSchema | undefined;
  auth: AuthPlugin;
  /** The other plugins: onRequest (rate limit), onParams (persisted queries), onOperation (limits), onError. */
  plugins: GatewayPlugin[];
  hub: LiveEventHub;
  execute: Execute;
  metrics: GatewayMetrics;
  log: Logger;
  /** Undelivered events a client may have queued before it is dropped. */
  bufferSize?: number;
  /** The client's address (TRUSTED_PROXIES, src/client-ip.ts); default the socket's. */
  clientIp?: ClientIp;
}

interface Connection {
  authorization?: string;
  identity: Identity;
  clientName?: string;
}

function toGraphQLError(e: unknown): GraphQLError {
  if (isGraphQLError(e)) return e;
  return new graphql.GraphQLError((e as Error)?.message ?? String(e), { originalError: e as Error });
}

export function attachSubscriptionServer(o: SubscriptionServerOptions) {
  const connections = new WeakMap<object, Connection>();
  const bufferSize = o.bufferSize ?? 100;
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => o.plugins.reduce((f, p) => (p.onError ? p.onError(f, e) : f), e.toJSON()));

  const stateOf = (extra: any, conn: Connection): RequestState => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(extra.request?.headers ?? {})) headers[k] = Array.isArray(v) ? v.join(", ") : (v as string);
    return {
      transport: "ws",
      headers,
      ip: extra.request ? (o.clientIp?.(extra.request) ?? extra.request.socket?.remoteAddress ?? "unknown") : "unknown",
      clientName: conn.clientName,
      identity: conn.identity,
      requestId: randomUUID(),
      method: "WS",
      responseHeaders: {},
    };
  };

  return useServer<Record<string, unknown>, { conn?: Connection }>(
    {
      onConnect: async (ctx) => {
        const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
        const headerAuth = ctx.extra.request.headers["authorization"];
        const authorization = (params.authorization ?? params.Authorization ?? headerAuth) as string | undefined;
        const clientName = (params.clientName ?? ctx.extra.request.headers["apollographql-client-name"]) as string | undefined;
        try {
          const identity = await o.auth.authenticate(authorization);
          connections.set(ctx.extra, { authorization, identity, clientName });
          return true;
        } catch (e) {
          const code = (e as GraphQLError).extensions?.code ?? ErrorCode.UNAUTHENTICATED;
          ctx.extra.socket.close(code === ErrorCode.UNAUTHENTICATED ? 4401 : 4503, `${code}: ${(e as Error).message}`.slice(0, 120));
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const conn = connections.get(ctx.extra);
        if (!conn) return [clientError(ErrorCode.UNAUTHENTICATED, "not connected")];
        const state = stateOf(ctx.extra, conn);
        try {
          let params: GraphQLParams = { query: payload.query, operationName: payload.operationName, variables: payload.variables, extensions: payload.extensions };
          for (const p of o.plugins) if (p.onParams) params = await p.onParams(params, state);
          const schema = o.getSchema();
          if (!schema) throw clientError(ErrorCode.SERVICE_UNAVAILABLE, "the gateway has not loaded its schema yet");
          if (!params.query) throw clientError(ErrorCode.BAD_USER_INPUT, "missing query");
          const document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length) return errors.map((e) => new graphql.GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
          const operation = getOperationAST(document, params.operationName ?? undefined);
          if (!operation) throw clientError(ErrorCode.BAD_USER_INPUT, "unable to identify the operation");
          const variables = (params.variables ?? {}) as Record<string, unknown>;
          // Queries and mutations over the socket re-check the session (it may have been revoked);
          // a subscription keeps the identity it connected with.
          if (operation.operation !== "subscription") state.identity = await o.auth.authenticate(conn.authorization);
          for (const p of o.plugins) await p.onRequest?.(state);
          for (const p of o.plugins) await p.onOperation?.({ document, operation, variables, schema, state });
          const plan = operation.operation === "subscription" ? planSubscription(schema, document, operation, variables) : undefined;
          const contextValue = { identity: state.identity, requestId: state.requestId, state, plan, query: params.query, socket: ctx.extra.socket };
          return { schema, document, operationName: params.operationName ?? undefined, variableValues: variables, contextValue } as ExecutionArgs;
        } catch (e) {
          return [toGraphQLError(e)];
        }
      },
      subscribe: (args) => {
        const ctx = args.contextValue as GatewayContext & { plan: SubscriptionPlan };
        return eventStream({
          hub: o.hub,
          plan: ctx.plan,
          variables: (args.variableValues ?? {}) as Record<string, unknown>,
          context: ctx,
          execute: o.execute,
          bufferSize,
          metrics: o.metrics,
          log: o.log,
          onOverflow: () => {
            (ctx as any).socket?.close(4429, "subscriber too slow");
          },
        }) as any;
      },
      execute: async (args) => {
        const ctx = args.contextValue as GatewayContext & { query: string };
        return (await o.execute({ query: ctx.query, variables: (args.variableValues ?? {}) as Record<string, unknown>, operationName: args.operationName ?? undefined }, ctx)) as any;
      },
      onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    o.wss,
    12_000,
  );
}
