/**
 * The gateway: one public endpoint on one port —
 *   POST/GET /graphql   queries and mutations (Apollo Gateway over the static supergraph; src/http/graphql-endpoint.ts)
 *   ws://…/graphql      graphql-ws subscriptions (src/subscriptions/)
 *   GET /health         the process is up
 *   GET /ready          the schema is loaded and every subgraph's /ready answers
 *   GET /metrics        Prometheus metrics
 * Cross-cutting concerns are plugins (src/plugins/useX.ts), run in order: auth, partner keys, rate limit,
 * persisted queries, query limits, masked errors, metrics.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { serviceKeys } from "@mallgraph/platform/auth";
import { loadConfig, subgraphUrl, DOMAINS, type Config, type Domain } from "@mallgraph/platform/config";
import { countRequests, drainServer } from "@mallgraph/platform/drain";
import { ErrorCode } from "@mallgraph/platform/errors";
import { instanceId } from "@mallgraph/platform/instance";
import { logger as rootLogger, type Logger } from "@mallgraph/platform/log";
import { createRedis } from "@mallgraph/platform/redis";
import type { FormattedExecutionResult, GraphQLFormattedError, GraphQLSchema } from "graphql";
import type { JWTVerifyGetKey } from "jose";
import { WebSocketServer } from "ws";
import { CircuitBreaker } from "./circuit-breaker.ts";
import { clientIp, parseTrustedProxies } from "./client-ip.ts";
import { SubgraphDataSource } from "./datasource.ts";
import { ForwardCache } from "./forward-cache.ts";
import { SingleFetchPlanner, type Forwarding } from "./forward.ts";
import { graphqlEndpoint, sendJson } from "./http/graphql-endpoint.ts";
import { httpRoutes, type HttpSettings } from "./http/index.ts";
import { GatewayMetrics } from "./metrics.ts";
import { responseCache } from "./plugins/responseCache.ts";
import type { GatewayContext, GatewayPlugin, RequestState } from "./plugins/types.ts";
import { useAuth } from "./plugins/useAuth.ts";
import { useMaskedErrors } from "./plugins/useMaskedErrors.ts";
import { useMetrics } from "./plugins/useMetrics.ts";
import { usePartnerKeys } from "./plugins/usePartnerKeys.ts";
import { usePersistedQueries, loadManifest, type Manifest } from "./plugins/usePersistedQueries.ts";
import { useQueryLimits } from "./plugins/useQueryLimits.ts";
import { useRateLimit } from "./plugins/useRateLimit.ts";
import {
  LiveEventHub,
  attachSubscriptionServer,
  DEFAULT_LIVE_LIMITS,
  signedInSubscriptions,
  type Execute,
  type LiveLimits,
} from "./subscriptions/index.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const GRAPHQL_URL = new URL("/graphql", "http://localhost");

export interface GatewayOptions {
  config: Config;
  port?: number;
  host?: string;
  /** The supergraph SDL; default schema/supergraph.graphql. */
  supergraphSdl?: string;
  /** Subgraph URL overrides by subgraph name (default: subgraphUrl(config, name) for known domains). */
  subgraphUrls?: Record<string, string>;
  /** Trusted operations; default schema/operations/manifest.json. */
  manifest?: Manifest;
  /** JWKS of the member subgraph; default `<member subgraph origin>/.well-known/jwks.json`. */
  jwks?: URL | JWTVerifyGetKey;
  subgraphTimeoutMs?: number;
  /** On stop, requests in flight are answered for at most this long before their connections are cut (ms, default 10 000). */
  shutdownGraceMs?: number;
  circuit?: { failureThreshold?: number; cooldownMs?: number };
  sessionCacheMs?: number;
  perClientPerMinute?: number;
  /** Client names held to the safelist (default `partner-*`). */
  trustedOnly?: (clientName: string | undefined) => boolean;
  subscriptionBufferSize?: number;
  /** Limits on graphql-ws connections (src/subscriptions/limits.ts); missing ones take the defaults. */
  liveLimits?: Partial<LiveLimits>;
  /** Whole-response cache by the subgraphs' cache hints (src/plugins/responseCache.ts); default on. */
  responseCache?: boolean;
  /** Single-fetch forwarding (src/forward.ts); default on. */
  singleFetch?: boolean;
  /** Forwarded operations of one event-loop turn sent to their subgraph as one batch (decision 0048); default on. */
  subgraphBatch?: boolean;
  /** TRUSTED_PROXIES: proxies whose X-Forwarded-For names the client (src/client-ip.ts); default none. */
  trustedProxies?: string;
  logger?: Logger;
  /** CORS, GraphiQL and admin routes (src/http); default: from the environment. */
  http?: HttpSettings;
}

export interface RunningGateway {
  url: string;
  wsUrl: string;
  port: number;
  server: http.Server;
  metrics: GatewayMetrics;
  breakers: Map<string, CircuitBreaker>;
  stop: () => Promise<void>;
}

export async function createGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const { config } = opts;
  const log = opts.logger ?? rootLogger("gateway");
  const redis = createRedis(config.REDIS_URL);
  const metrics = new GatewayMetrics();
  const hub = new LiveEventHub(createRedis(config.REDIS_URL, { enableAutoPipelining: false }), config.REDIS_PREFIX, log);

  const ipOf = clientIp(parseTrustedProxies(opts.trustedProxies));
  const memberOrigin = new URL(opts.subgraphUrls?.member ?? subgraphUrl(config, "member"));
  const auth = useAuth({
    redis,
    prefix: config.REDIS_PREFIX,
    issuer: config.JWT_ISSUER,
    jwks: opts.jwks ?? new URL("/.well-known/jwks.json", memberOrigin),
    sessionCacheMs: opts.sessionCacheMs,
  });
  const plugins: GatewayPlugin[] = [
    auth,
    usePartnerKeys({ redis, prefix: config.REDIS_PREFIX }),
    useRateLimit({
      redis,
      prefix: config.REDIS_PREFIX,
      perMinute: config.RATE_LIMIT_PER_MINUTE,
      perClientPerMinute: opts.perClientPerMinute,
    }),
    usePersistedQueries({
      redis,
      prefix: config.REDIS_PREFIX,
      manifest: opts.manifest ?? loadManifest(path.join(REPO_ROOT, "schema/operations/manifest.json")),
      trustedOnly: opts.trustedOnly,
    }),
    useQueryLimits({ maxDepth: config.MAX_QUERY_DEPTH, maxCost: config.MAX_QUERY_COST }),
    useMaskedErrors({ log }),
    useMetrics(metrics),
  ];
  const formatError = (formatted: GraphQLFormattedError, error: unknown) =>
    plugins.reduce((f, p) => (p.onError ? p.onError(f, error) : f), formatted);

  // ---------------------------------------------------------------- Apollo Gateway + Server
  const supergraphSdl = opts.supergraphSdl ?? readFileSync(path.join(REPO_ROOT, "schema/supergraph.graphql"), "utf8");
  const subgraphs = new Map<string, string>();
  const sources = new Map<string, SubgraphDataSource>();
  const breakers = new Map<string, CircuitBreaker>();
  let apiSchema: GraphQLSchema | undefined;
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const target =
        opts.subgraphUrls?.[name] ?? ((DOMAINS as readonly string[]).includes(name) ? subgraphUrl(config, name as Domain) : url);
      if (!target) throw new Error(`no URL for subgraph ${name}`);
      subgraphs.set(name, target);
      const breaker = new CircuitBreaker(name, {
        ...opts.circuit,
        onStateChange: (s) => {
          metrics.circuitState.set({ subgraph: name }, s === "closed" ? 0 : s === "open" ? 1 : 2);
          log.warn({ subgraph: name, state: s }, "circuit breaker");
        },
      });
      metrics.circuitState.set({ subgraph: name }, 0);
      breakers.set(name, breaker);
      const source = new SubgraphDataSource({
        name,
        url: target,
        secret: serviceKeys(config),
        timeoutMs: opts.subgraphTimeoutMs ?? 10_000,
        breaker,
        metrics,
        onRevokedSessions: (ids) => auth.evictSessions(ids),
        batch: opts.subgraphBatch !== false,
      });
      sources.set(name, source);
      return source;
    },
  });
  const singleFetch = opts.singleFetch === false ? undefined : new SingleFetchPlanner(supergraphSdl);
  gateway.onSchemaLoadOrUpdate(({ apiSchema: s }) => {
    apiSchema = s;
    singleFetch?.setSchema(s);
  });
  const forwarding: Forwarding | undefined = singleFetch && {
    planner: singleFetch,
    sources,
    plugins,
    metrics,
    // the response cache serves anonymous callers and members: their operations go through it
    cached: (state) => opts.responseCache !== false && (state.identity.kind === "anonymous" || state.identity.kind === "member"),
    cache: opts.responseCache === false ? undefined : new ForwardCache(),
  };

  const bridge: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          const state = rc.contextValue.state;
          if (!rc.operation) return;
          for (const p of plugins) {
            await p.onOperation?.({
              document: rc.document,
              operation: rc.operation,
              variables: (rc.request.variables ?? {}) as Record<string, unknown>,
              schema: rc.schema,
              state,
            });
          }
        },
        async willSendResponse(rc) {
          const body = rc.response.body;
          rc.contextValue.state.outcome = {
            operationName: rc.operationName ?? rc.request.operationName ?? undefined,
            errors: body.kind === "single" ? (body.singleResult.errors ?? []) : [],
          };
        },
      };
    },
  };
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError,
    includeStacktraceInErrorResponses: false,
    persistedQueries: false,
    // Credentials are bearer tokens, never cookies, so browsers cannot be tricked into sending them.
    csrfPrevention: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), bridge, ...(opts.responseCache === false ? [] : [responseCache()])],
  });
  await apollo.start();

  const execute: Execute = async (request, context) => {
    const state: RequestState = context.state;
    const res = await apollo.executeOperation(request, { contextValue: { ...context, state: { ...state } } });
    if (res.body.kind !== "single") throw new Error("incremental delivery is not supported");
    return res.body.singleResult as FormattedExecutionResult;
  };

  // ---------------------------------------------------------------- HTTP
  async function ready(): Promise<{ ok: boolean; detail: Record<string, string> }> {
    const detail: Record<string, string> = { schema: apiSchema ? "loaded" : "missing" };
    await Promise.all(
      [...subgraphs].map(async ([name, url]) => {
        try {
          const r = await fetch(new URL("ready", url), { signal: AbortSignal.timeout(2000) });
          detail[name] = r.ok ? "ready" : `status ${r.status}`;
        } catch (e) {
          detail[name] = `unreachable: ${(e as Error).message}`;
        }
      }),
    );
    return { ok: !!apiSchema && subgraphs.size > 0 && Object.values(detail).every((v) => v === "ready" || v === "loaded"), detail };
  }

  const handleGraphQL = graphqlEndpoint({ apollo, plugins, formatError, log, clientIp: ipOf, forwarding });

  const routes = await httpRoutes({ config, settings: opts.http, auth, execute, log, clientIp: ipOf });
  const server = http.createServer(async (req, res) => {
    try {
      // the GraphQL path without a search (every POST) needs no URL parsed per request: nothing changes it
      const url = req.url === "/graphql" ? GRAPHQL_URL : new URL(req.url ?? "/", "http://localhost");
      const handled = routes.handle(req, res, url);
      if (handled === true || (handled !== false && (await handled))) return;
      if (url.pathname === "/graphql") return await handleGraphQL(req, res, url);
      if (req.method === "GET" && url.pathname === "/health")
        return sendJson(res, 200, { status: "ok", service: "gateway", instance: instanceId() });
      if (req.method === "GET" && url.pathname === "/ready") {
        const r = await ready();
        return sendJson(res, r.ok ? 200 : 503, { status: r.ok ? "ready" : "unavailable", ...r.detail });
      }
      if (req.method === "GET" && url.pathname === "/metrics") {
        res.writeHead(200, { "content-type": metrics.registry.contentType }).end(await metrics.registry.metrics());
        return;
      }
      res.writeHead(404).end();
    } catch (e) {
      log.error({ err: e }, "request failed");
      if (!res.headersSent)
        sendJson(res, 500, { errors: [{ message: "internal error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
      else res.end();
    }
  });
  server.keepAliveTimeout = 65_000;
  const inFlight = countRequests(server);

  // ---------------------------------------------------------------- graphql-ws on the same path
  const wss = new WebSocketServer({
    server,
    path: "/graphql",
    maxPayload: opts.liveLimits?.maxMessageBytes ?? DEFAULT_LIVE_LIMITS.maxMessageBytes,
  });
  const wsServer = attachSubscriptionServer({
    wss,
    getSchema: () => apiSchema,
    auth,
    plugins: plugins.filter((p) => p !== auth),
    hub,
    execute,
    metrics,
    log,
    bufferSize: opts.subscriptionBufferSize,
    clientIp: ipOf,
    limits: opts.liveLimits,
    signedIn: signedInSubscriptions(supergraphSdl),
    redis,
    prefix: config.REDIS_PREFIX,
  });
  // A logout or a kick names the revoked session: forget its cached lookup at once.
  const stopEviction = await hub.listen("sessionEvents", (ev) => auth.evictSessions(ev.sessions ?? []));

  const host = opts.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? config.GATEWAY_PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/graphql`;
  log.info({ url, subgraphs: Object.fromEntries(subgraphs) }, "gateway ready");

  let stopped = false;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port,
    server,
    metrics,
    breakers,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopEviction();
      // live sockets are told to go away (graphql-ws closes them with 1001: clients reconnect elsewhere)
      await Promise.resolve(wsServer.dispose()).catch(() => undefined);
      for (const c of wss.clients) c.terminate();
      // requests in flight are answered before anything they use is closed (graceful shutdown, decision 0032)
      await drainServer(server, inFlight, { graceMs: opts.shutdownGraceMs, log, name: "gateway" });
      await routes.stop();
      await apollo.stop();
      await hub.close();
      redis.disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  const { gatewaySettings } = await import("./settings.ts");
  createGateway({ config, ...gatewaySettings() })
    .then((gw) => {
      const shutdown = async () => {
        await gw.stop();
        process.exit(0);
      };
      process.on("SIGTERM", shutdown);
      process.on("SIGINT", shutdown);
    })
    .catch((e) => {
      rootLogger("gateway").fatal({ err: e }, "gateway failed to start");
      process.exit(1);
    });
}
