/** The graphql-ws server: connections (authenticated, counted, limited) and their operations (see ./index.ts). */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ANONYMOUS, type Identity } from "@mallgraph/platform/auth";
import { ErrorCode } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import { PARTNER_KEY_HEADER } from "@mallgraph/platform/partner-keys";
import type { Redis } from "@mallgraph/platform/redis";
import type { ExecutionArgs, FormattedExecutionResult, GraphQLError, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { WebSocket, WebSocketServer } from "ws";
import type { ClientIp } from "../client-ip.ts";
import { clientError, isGraphQLError } from "../errors.ts";
import { graphql } from "../graphql.ts";
import { assertShallow } from "../http/params.ts";
import type { GatewayMetrics } from "../metrics.ts";
import type { GatewayContext, GatewayPlugin, GraphQLParams, RequestState } from "../plugins/types.ts";
import type { AuthPlugin } from "../plugins/useAuth.ts";
import { CallerLeases } from "./caller-leases.ts";
import type { LiveEventHub } from "./hub.ts";
import { Coalescer, CloseCode, ConnectionCounter, DEFAULT_LIVE_LIMITS, FairScheduler, type LiveLimits } from "./limits.ts";
import { planSubscription, type SubscriptionPlan } from "./plan.ts";
import { eventStream, type Execute } from "./stream.ts";

const { getOperationAST, parse, validate } = graphql;

export interface SubscriptionServerOptions {
  wss: WebSocketServer;
  getSchema: () => GraphQLSchema | undefined;
  auth: AuthPlugin;
  /** The other plugins: onRequest (partner keys, rate limit), onParams (persisted queries), onOperation (limits), onError. */
  plugins: GatewayPlugin[];
  hub: LiveEventHub;
  execute: Execute;
  metrics: GatewayMetrics;
  log: Logger;
  /** Undelivered events a client may have queued before it is dropped. */
  bufferSize?: number;
  /** The client's address (TRUSTED_PROXIES, src/client-ip.ts); default the socket's. */
  clientIp?: ClientIp;
  /** Connection limits (./limits.ts); missing ones take the defaults. */
  limits?: Partial<LiveLimits>;
  /** Subscription fields that need a signed-in member or operator (`signedInSubscriptions`). */
  signedIn?: ReadonlySet<string>;
  /** Where the callers' socket leases live (shared by every gateway instance) and under which prefix. */
  redis: Redis;
  prefix: string;
}

/** What one socket holds: its address's slot, and once authenticated its caller's lease. */
interface Slot {
  ip: string;
  lease?: string;
  closed?: boolean;
}

interface Connection {
  authorization?: string;
  /** From the access token (anonymous without one); a partner key is checked again per operation. */
  tokenIdentity: Identity;
  /** Who the socket counts against once authenticated (member, operator or partner). */
  caller?: string;
  clientName?: string;
  /** The upgrade request's headers plus what connectionParams carried (authorization, API key, client name). */
  headers: Record<string, string | undefined>;
  ip: string;
}

function toGraphQLError(e: unknown): GraphQLError {
  if (isGraphQLError(e)) return e;
  return new graphql.GraphQLError((e as Error)?.message ?? String(e), { originalError: e as Error });
}

/** Connection params win over the upgrade request's headers (browsers cannot set headers on a WebSocket). */
function connectionHeaders(request: IncomingMessage, params: Record<string, unknown>): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  headers.authorization = str(params.authorization) ?? str(params.Authorization) ?? headers.authorization;
  headers[PARTNER_KEY_HEADER] = str(params[PARTNER_KEY_HEADER]) ?? str(params.apiKey) ?? headers[PARTNER_KEY_HEADER];
  headers["apollographql-client-name"] = str(params.clientName) ?? headers["apollographql-client-name"];
  return headers;
}

const closeCodeFor = (code: unknown) =>
  code === ErrorCode.UNAUTHENTICATED
    ? CloseCode.Unauthorized
    : code === ErrorCode.RATE_LIMITED
      ? CloseCode.TooMany
      : code === ErrorCode.SERVICE_UNAVAILABLE
        ? CloseCode.Unavailable
        : CloseCode.Forbidden;

export function attachSubscriptionServer(o: SubscriptionServerOptions) {
  const limits: LiveLimits = { ...DEFAULT_LIVE_LIMITS, ...o.limits };
  const counter = new ConnectionCounter(limits);
  const leases = new CallerLeases(o.redis, o.prefix, limits.connectionsPerCaller, o.log);
  const scheduler = new FairScheduler(limits.eventConcurrency);
  const shared = new Coalescer<FormattedExecutionResult>();
  const connections = new WeakMap<object, Connection>();
  const sockets = new WeakMap<WebSocket, Slot>();
  const bufferSize = o.bufferSize ?? 100;
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => o.plugins.reduce((f, p) => (p.onError ? p.onError(f, e) : f), e.toJSON()));
  const refuse = (socket: WebSocket, code: number, reason: string, metric: string) => {
    o.metrics.wsRefused.inc({ reason: metric });
    socket.close(code, reason.slice(0, 120));
  };

  // Registered before graphql-ws's own listener: a socket over a limit is closed before it costs anything.
  o.wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const ip = o.clientIp?.(request) ?? request.socket.remoteAddress ?? "unknown";
    const over = counter.opened(ip);
    if (over)
      return refuse(socket, CloseCode.TooMany, over === "ip" ? "too many connections from this address" : "too many connections", over);
    const slot: Slot = { ip };
    sockets.set(socket, slot);
    o.metrics.wsConnections.set(counter.open);
    socket.once("close", (code: number) => {
      slot.closed = true;
      counter.closed(slot.ip);
      if (slot.lease) void leases.give(slot.lease);
      o.metrics.wsConnections.set(counter.open);
      if (code === CloseCode.InitTimeout) o.metrics.wsRefused.inc({ reason: "handshake" });
    });
  });

  const stateOf = (conn: Connection, identity: Identity): RequestState => ({
    transport: "ws",
    headers: { ...conn.headers },
    ip: conn.ip,
    clientName: conn.clientName,
    identity,
    requestId: randomUUID(),
    method: "WS",
    responseHeaders: {},
  });

  const server = useServer<Record<string, unknown>, { conn?: Connection }>(
    {
      connectionInitWaitTimeout: limits.initTimeoutMs,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const slot = sockets.get(socket);
        if (!slot) return false; // refused when it opened
        const headers = connectionHeaders(ctx.extra.request, (ctx.connectionParams ?? {}) as Record<string, unknown>);
        const conn: Connection = {
          authorization: headers.authorization,
          tokenIdentity: ANONYMOUS,
          clientName: headers["apollographql-client-name"],
          headers,
          ip: slot.ip,
        };
        try {
          conn.tokenIdentity = await o.auth.authenticate(conn.authorization);
          // The same checks as an HTTP request: the partner key (if any) and the caller's rate limit.
          const state = stateOf(conn, conn.tokenIdentity);
          for (const p of o.plugins) await p.onRequest?.(state);
          if (state.identity.id) conn.caller = `${state.identity.kind}:${state.identity.id}`;
        } catch (e) {
          const code = (e as GraphQLError).extensions?.code ?? ErrorCode.UNAUTHENTICATED;
          socket.close(closeCodeFor(code), `${code}: ${(e as Error).message}`.slice(0, 120));
          return false;
        }
        if (conn.caller) {
          let lease: string | undefined;
          try {
            lease = await leases.take(conn.caller);
          } catch (e) {
            o.log.warn({ err: e }, "could not count the caller's sockets");
            socket.close(CloseCode.Unavailable, "the caller's connections could not be counted");
            return false;
          }
          if (!lease) {
            refuse(socket, CloseCode.TooMany, "too many connections for this caller", "caller");
            return false;
          }
          slot.lease = lease;
          // closed while the lease was taken: give it back at once
          if (slot.closed) void leases.give(lease);
        }
        connections.set(ctx.extra, conn);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const conn = connections.get(ctx.extra);
        if (!conn) return [clientError(ErrorCode.UNAUTHENTICATED, "not connected")];
        // ctx.subscriptions holds this operation too.
        if (Object.keys(ctx.subscriptions).length > limits.subscriptionsPerConnection) {
          o.metrics.wsRefused.inc({ reason: "subscriptions" });
          return [
            clientError(ErrorCode.RATE_LIMITED, `at most ${limits.subscriptionsPerConnection} operations at a time on one connection`, {
              limit: limits.subscriptionsPerConnection,
            }),
          ];
        }
        const state = stateOf(conn, conn.tokenIdentity);
        try {
          // Partner key (checked again: a revoked key stops here) and rate limit before the document is read,
          // so a partner is held to its manifest operations as over HTTP.
          for (const p of o.plugins) await p.onRequest?.(state);
          let params: GraphQLParams = {
            query: payload.query,
            operationName: payload.operationName,
            variables: payload.variables,
            extensions: payload.extensions,
          };
          assertShallow(params);
          for (const p of o.plugins) if (p.onParams) params = await p.onParams(params, state);
          const schema = o.getSchema();
          if (!schema) throw clientError(ErrorCode.SERVICE_UNAVAILABLE, "the gateway has not loaded its schema yet");
          if (!params.query) throw clientError(ErrorCode.BAD_USER_INPUT, "missing query");
          const document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length)
            return errors.map(
              (e) => new graphql.GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
            );
          const operation = getOperationAST(document, params.operationName ?? undefined);
          if (!operation) throw clientError(ErrorCode.BAD_USER_INPUT, "unable to identify the operation");
          const variables = (params.variables ?? {}) as Record<string, unknown>;
          // Queries and mutations over the socket re-check the session (it may have been revoked);
          // a subscription keeps the identity it connected with.
          if (operation.operation !== "subscription" && conn.authorization) state.identity = await o.auth.authenticate(conn.authorization);
          for (const p of o.plugins) await p.onOperation?.({ document, operation, variables, schema, state });
          const plan = operation.operation === "subscription" ? planSubscription(schema, document, operation, variables) : undefined;
          if (plan && o.signedIn?.has(plan.field) && state.identity.kind !== "member" && state.identity.kind !== "admin") {
            refuse(ctx.extra.socket, CloseCode.Forbidden, `Forbidden: ${plan.field} needs a signed-in member`, "signed-in");
            return [clientError(ErrorCode.UNAUTHENTICATED, `${plan.field} needs a signed-in member`)];
          }
          const contextValue = {
            identity: state.identity,
            requestId: state.requestId,
            state,
            plan,
            query: params.query,
            socket: ctx.extra.socket,
          };
          return {
            schema,
            document,
            operationName: params.operationName ?? undefined,
            variableValues: variables,
            contextValue,
          } as ExecutionArgs;
        } catch (e) {
          return [toGraphQLError(e)];
        }
      },
      subscribe: (args) => {
        const ctx = args.contextValue as GatewayContext & { plan: SubscriptionPlan };
        const caller = ctx.identity.id ? `${ctx.identity.kind}:${ctx.identity.id}` : `ip:${ctx.state.ip}`;
        return eventStream({
          hub: o.hub,
          plan: ctx.plan,
          variables: (args.variableValues ?? {}) as Record<string, unknown>,
          context: ctx,
          execute: o.execute,
          bufferSize,
          schedule: (key, fn) => shared.run(key, () => scheduler.run(caller, fn)),
          metrics: o.metrics,
          log: o.log,
          onOverflow: () => {
            (ctx as any).socket?.close(CloseCode.TooMany, "subscriber too slow");
          },
        }) as any;
      },
      execute: async (args) => {
        const ctx = args.contextValue as GatewayContext & { query: string };
        return (await o.execute(
          {
            query: ctx.query,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
            operationName: args.operationName ?? undefined,
          },
          ctx,
        )) as any;
      },
      onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    o.wss,
    12_000,
  );
  return {
    dispose: async () => {
      await server.dispose();
      await leases.close();
    },
  };
}
