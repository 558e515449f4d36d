/**
 * Builds and serves one federated subgraph: `buildSubgraphSchema` + Apollo Server on a plain Node
 * HTTP server, with extra routes (health, callbacks, JWKS), identity from the signed header, and
 * masked internal errors.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { GraphQLError, parse, type DocumentNode } from "graphql";
import type { BaseContext } from "./access.ts";
import type { AuditLog } from "./audit.ts";
import { checkIdentityHeader, identityMaxAgeMs, keyring, ReplayGuard, IDENTITY_HEADER, type Keys, type VerifiedHeader } from "./auth.ts";
import { countRequests, drainServer } from "./drain.ts";
import { ErrorCode, isAppError } from "./errors.ts";
import { createFastExecutor } from "./fast-graphql.ts";
import { instanceId } from "./instance.ts";
import { logger as rootLogger, type Logger } from "./log.ts";
import { bound, metricsText, requestDuration, timedResolvers } from "./metrics.ts";
import { collectRevokedSessions, REVOKED_SESSIONS_HEADER } from "./revocation.ts";
import { batchElements, batchPath, elementRequest, streamBatch, type BatchElement, type ElementAnswer } from "./subgraph-batch.ts";

export type RouteHandler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => Promise<void> | void;

export interface SubgraphOptions<C extends BaseContext> {
  name: string;
  typeDefs: string | DocumentNode;
  resolvers: any;
  port: number;
  host?: string;
  /** Secrets of the services whose identity headers this subgraph accepts (`serviceKeys(config)`; a string: the root secret they derive from). */
  internalSecret: Keys;
  /**
   * The domain's audit trail (auditedPrisma's `log`): operator Mutations write to it and fail without
   * it. `null` only in a subgraph that has no operator mutation (cart).
   */
  audit?: AuditLog | null;
  /** Builds the domain context from the verified identity. */
  context: (base: BaseContext, req: http.IncomingMessage) => C | Promise<C>;
  /** Extra HTTP routes, keyed by "METHOD /path". */
  routes?: Record<string, RouteHandler>;
  plugins?: ApolloServerPlugin<C>[];
  /** Readiness probe (database, Redis); /ready answers 503 while it throws. */
  ready?: () => Promise<void>;
  /** On stop, requests in flight are answered for at most this long before their connections are cut (ms, default 10 000). */
  shutdownGraceMs?: number;
  logger?: Logger;
  /**
   * Serve plain POSTed queries and mutations through the compiled fast path (fast-graphql.ts:
   * graphql-jit, documents prepared once), Apollo Server for everything else. Only for subgraphs
   * without Apollo plugins of their own (their hooks would not run on the fast path).
   */
  fastPath?: boolean;
  /**
   * Whether resolvers may revoke sessions (the member subgraph): the sessions revoked while a
   * request runs are then collected for the `x-mg-revoked-sessions` header. Default true; false
   * saves the AsyncLocalStorage scope per request (and its hook on every promise).
   */
  revokesSessions?: boolean;
}

export interface RunningSubgraph {
  url: string;
  port: number;
  server: http.Server;
  stop: () => Promise<void>;
}

/** Error formatting: domain errors pass as they are; anything else becomes an opaque internal error. */
export function maskError(log: Logger) {
  return (formatted: any, error: unknown) => {
    const original = (error as any)?.originalError ?? error;
    if (isAppError(original) || isAppError(error)) return formatted;
    const code = formatted.extensions?.code;
    if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted; // validation, bad variables
    log.error({ err: original }, "unexpected error");
    return { message: "internal error", path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

function readBody(req: http.IncomingMessage, limit = 2 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** An answer to one GraphQL request: complete, or streamed (incremental delivery on Apollo's path). */
interface Outcome {
  status: number;
  headers: Record<string, string>;
  body: string | AsyncIterable<string>;
}

const BATCH_ROUTE = `POST ${batchPath("/graphql")}`;

function errorOutcome(status: number, message: string, code: string, extensions: Record<string, unknown> = {}): Outcome & { body: string } {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] }),
  };
}

async function writeOutcome(res: http.ServerResponse, o: Outcome): Promise<void> {
  res.writeHead(o.status, o.headers);
  if (typeof o.body === "string") {
    res.end(o.body);
    return;
  }
  for await (const chunk of o.body) res.write(chunk);
  res.end();
}

/**
 * Where a NUL character hides in a request's variables or document (PostgreSQL text cannot hold one,
 * so it would surface as an internal error): a path such as `variables.input.name`, or undefined.
 * Iterative, so deeply nested input cannot overflow the stack.
 */
export function findNulCharacter(json: unknown): string | undefined {
  if (!json || typeof json !== "object") return undefined;
  const { query, variables } = json as { query?: unknown; variables?: unknown };
  if (typeof query === "string" && (query.includes("\0") || /\\u0000/.test(query))) return "query";
  // each entry links to its parent, so the path is spelled out only for the string found
  type At = { key: string; parent?: At };
  const stack: Array<[unknown, At]> = [[variables, { key: "variables" }]];
  while (stack.length) {
    const top = stack.pop();
    if (!top) break;
    const [v, at] = top;
    if (typeof v === "string") {
      if (!v.includes("\0")) continue;
      const keys: string[] = [];
      for (let a: At | undefined = at; a; a = a.parent) keys.push(a.key.slice(0, 40));
      return keys.reverse().join(".").slice(0, 200);
    }
    if (v && typeof v === "object") for (const [k, child] of Object.entries(v)) stack.push([child, { key: k, parent: at }]);
  }
  return undefined;
}

/** A JSON POST that asks for (or accepts) `application/json`: what the fast path answers exactly like Apollo Server. */
function plainJson(req: http.IncomingMessage): boolean {
  if (!req.headers["content-type"]?.startsWith("application/json")) return false;
  const accept = req.headers.accept;
  return !accept || accept === "*/*" || (accept.includes("application/json") && !accept.includes("graphql-response"));
}

export async function startSubgraph<C extends BaseContext>(opts: SubgraphOptions<C>): Promise<RunningSubgraph> {
  const log = opts.logger ?? rootLogger(opts.name);
  const typeDefs = typeof opts.typeDefs === "string" ? parse(opts.typeDefs) : opts.typeDefs;
  const schema = buildSubgraphSchema({ typeDefs, resolvers: timedResolvers(opts.name, opts.resolvers) });
  const apollo = new ApolloServer<C>({
    schema,
    formatError: maskError(log),
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), ...(opts.plugins ?? [])],
  });
  await apollo.start();
  if (opts.fastPath && opts.plugins?.length) throw new Error(`${opts.name}: the fast path does not run Apollo plugins`);
  const fast = opts.fastPath ? createFastExecutor(schema, { formatError: maskError(log) }) : undefined;
  const collect =
    opts.revokesSessions === false
      ? async <T>(fn: () => Promise<T>) => ({ result: await fn(), revoked: [] as string[] })
      : collectRevokedSessions;

  let inFlight: () => number = () => 0;
  const routes: Record<string, RouteHandler> = {
    // inFlight: the other requests being answered now (a graceful stop waits for them; this probe needs neither PostgreSQL nor Redis)
    "GET /health": (_req, _b, res) => {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ status: "ok", service: opts.name, instance: instanceId(), inFlight: inFlight() - 1 }));
    },
    "GET /ready": async (_req, _b, res) => {
      try {
        await opts.ready?.();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ready" }));
      } catch (e) {
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ status: "unavailable", reason: String(e) }));
      }
    },
    "GET /metrics": async (_req, _b, res) => {
      const m = await metricsText();
      res.writeHead(200, { "content-type": m.contentType }).end(m.body);
    },
    ...opts.routes,
  };

  const keys = keyring(opts.internalSecret);
  const replay = new ReplayGuard();
  const maxAgeMs = identityMaxAgeMs(); // read once: process.env is slow to read per request
  const observe = bound(requestDuration);
  /** The answer to one GraphQL request whose identity header checked out (`/graphql`, or one element of a batch). */
  async function execute(
    verified: VerifiedHeader,
    requestIdHeader: string | undefined,
    json: unknown,
    mayHoldNul: boolean,
    req: http.IncomingMessage,
    search: string,
  ): Promise<Outcome> {
    const { identity, requestId: signedRequestId } = verified;
    const requestId = signedRequestId || requestIdHeader || randomUUID();
    // JSON can only carry a NUL as the escape \u0000 (also how a document's own escape arrives): without one, nothing to walk
    const nul = mayHoldNul ? findNulCharacter(json) : undefined;
    if (nul) return errorOutcome(200, `text may not contain NUL characters (${nul})`, ErrorCode.BAD_USER_INPUT);
    const context = async () => opts.context({ identity, requestId, audit: opts.audit ?? undefined }, req);
    if (fast && !search && plainJson(req)) {
      const { result: answer, revoked } = await collect(() => fast.tryExecute(req.method, json, context));
      if (answer) {
        if (revoked.length) answer.headers[REVOKED_SESSIONS_HEADER] = revoked.join(",");
        return answer;
      }
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const { result, revoked } = await collect(() =>
      apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: req.method ?? "POST", headers, search, body: json }, context }),
    );
    const out: Record<string, string> = {};
    for (const [k, v] of result.headers) out[k] = v;
    if (revoked.length) out[REVOKED_SESSIONS_HEADER] = revoked.join(",");
    return {
      status: result.status ?? 200,
      headers: out,
      body: result.body.kind === "complete" ? result.body.string : result.body.asyncIterator,
    };
  }

  /** A header that is there but forged, stale, replayed or claiming what its signer may not. */
  const refused = (problem: string): Outcome =>
    errorOutcome(401, `identity header refused (${problem})`, ErrorCode.UNAUTHENTICATED, { reason: problem });

  /** One batch element, checked and run as a request of its own; its answer whole. */
  async function answerElement(req: http.IncomingMessage, e: BatchElement, mayHoldNul: boolean): Promise<ElementAnswer> {
    try {
      const verified = checkIdentityHeader(keys, e.i, { replay, maxAgeMs });
      const o = verified.problem ? refused(verified.problem) : await execute(verified, e.r, e.b, mayHoldNul, elementRequest(req, e), "");
      if (typeof o.body === "string") return o as ElementAnswer;
      let body = "";
      for await (const chunk of o.body) body += chunk;
      return { ...o, body };
    } catch (err) {
      log.error({ err }, "batch element failed");
      return errorOutcome(500, "internal error", ErrorCode.INTERNAL_SERVER_ERROR);
    }
  }

  /**
   * `POST /graphql/batch` (subgraph-batch.ts, decision 0048): each element checked and run as a
   * request of its own, all at once; each answer's frame written as soon as it is done (those done in
   * the same turn of the event loop in one write), so a slow element holds back no other.
   */
  async function answerBatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = (await readBody(req)).toString("utf8");
    const elements = batchElements(JSON.parse(text));
    if (typeof elements === "string") {
      await writeOutcome(res, errorOutcome(400, elements, ErrorCode.BAD_USER_INPUT));
      return;
    }
    const mayHoldNul = text.includes("\\u0000");
    await streamBatch(res, elements, (e) => answerElement(req, e, mayHoldNul));
  }

  const server = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    let routeLabel = "/graphql";
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const key = `${req.method} ${url.pathname}`;
      const route = routes[key];
      if (route) {
        routeLabel = key;
        return await route(req, await readBody(req), res);
      }
      if (key === BATCH_ROUTE) {
        routeLabel = BATCH_ROUTE;
        return await answerBatch(req, res);
      }
      if (url.pathname !== "/graphql") {
        routeLabel = "other";
        res.writeHead(404).end();
        return;
      }
      // checked as soon as the headers are in (the header's 5 s run from its signing)
      const verified = checkIdentityHeader(keys, req.headers[IDENTITY_HEADER] as string | undefined, { replay, maxAgeMs });
      const body = await readBody(req);
      if (verified.problem) return writeOutcome(res, refused(verified.problem));
      const text = body.toString("utf8");
      const json = body.length ? JSON.parse(text) : undefined;
      const outcome = await execute(
        verified,
        req.headers["x-request-id"] as string | undefined,
        json,
        text.includes("\\u0000"),
        req,
        url.search,
      );
      await writeOutcome(res, outcome);
    } catch (e) {
      log.error({ err: e }, "request failed");
      const malformed = e instanceof SyntaxError;
      const o = malformed
        ? errorOutcome(400, "malformed JSON body", ErrorCode.BAD_USER_INPUT)
        : errorOutcome(500, "internal error", ErrorCode.INTERNAL_SERVER_ERROR);
      if (!res.headersSent) res.writeHead(o.status, o.headers);
      res.end(o.body);
    } finally {
      observe(opts.name, routeLabel, `${Math.floor(res.statusCode / 100)}xx`).observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
  server.keepAliveTimeout = 65_000;
  inFlight = countRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host ?? "127.0.0.1"}:${port}/graphql`;
  log.info({ url }, `${opts.name} subgraph ready`);
  return {
    url,
    port,
    server,
    // graceful: no new request; those in flight are answered (their scripts and transactions finish) before the services close
    stop: async () => {
      await drainServer(server, inFlight, { graceMs: opts.shutdownGraceMs, log, name: opts.name });
      await apollo.stop();
    },
  };
}

/** Throws a GraphQLError with a code (for resolvers that prefer throwing over result codes). */
export function fail(code: string, message: string): never {
  throw new GraphQLError(message, { extensions: { code } });
}

/**
 * The `main` of a subgraph process: starts it, stops it gracefully on SIGTERM/SIGINT (requests in
 * flight answered, then connections and queues closed), and exits 1 with a fatal log line when it
 * cannot start.
 */
export function runSubgraphMain(name: string, start: () => Promise<{ stop: () => Promise<void> }>): void {
  runMain(name, `${name} subgraph`, async () => (await start()).stop);
}

/** The `main` of one domain's workers run on their own (`tsx subgraphs/<domain>/src/worker.ts`): the same start and graceful stop. */
export function runWorkersMain(name: string, start: () => Promise<() => Promise<void>>): void {
  runMain(name, `${name} workers`, start);
}

function runMain(name: string, what: string, start: () => Promise<() => Promise<void>>): void {
  start()
    .then((stop) => {
      const shutdown = async () => {
        await stop().catch((e) => rootLogger(name).error({ err: e }, "stop failed"));
        process.exit(0);
      };
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    })
    .catch((e) => {
      rootLogger(name).fatal({ err: e }, `${what} failed to start`);
      process.exit(1);
    });
}
