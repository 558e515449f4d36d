/**
 * The gateway's HTTP routes besides GraphQL itself, kept apart from the GraphQL pipeline: CORS on
 * the GraphQL path, GraphiQL (development), and the operators' queue dashboard (/admin/queues,
 * ./admin.ts). `createGateway` asks `handle` first; it answers what is its own and returns true.
 */
import type http from "node:http";
import path from "node:path";
import type { Config } from "@mallgraph/platform/config";
import type { Logger } from "@mallgraph/platform/log";
import { z } from "zod";
import type { ClientIp } from "../client-ip.ts";
import type { AuthPlugin } from "../plugins/useAuth.ts";
import type { Execute } from "../subscriptions/index.ts";
import { admin } from "./admin.ts";
import { applyCors, corsOrigins } from "./cors.ts";
import { graphiql } from "./graphiql.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

const schema = z.object({
  /** Origins allowed to call /graphql from a browser: comma-separated, or `*`. Default: localhost outside production. */
  CORS_ORIGINS: z.string().optional(),
  /** GraphiQL on GET /graphql for browsers; default on outside production. */
  GRAPHIQL: z.enum(["true", "false"]).optional(),
  /** The queue dashboard at /admin/queues (operators with the queues permission); default on. */
  ADMIN_QUEUES: z.enum(["true", "false"]).optional(),
  /** Secure flag of the dashboard's session cookie; default on in production (serve it over TLS). */
  ADMIN_COOKIE_SECURE: z.enum(["true", "false"]).optional(),
});

export type HttpSettings = z.infer<typeof schema>;

export function httpSettings(env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new Error(`invalid gateway configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  return parsed.data;
}

export interface HttpRoutesOptions {
  config: Config;
  settings?: HttpSettings;
  auth: AuthPlugin;
  execute: Execute;
  log: Logger;
  clientIp?: ClientIp;
}

function bodyReader(req: http.IncomingMessage, limit = 64 * 1024): () => Promise<Buffer> {
  return () =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.destroy();
          reject(new Error("request body too large"));
        } else chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });
}

export interface HttpRoutes {
  /**
   * Answers the request when it is one of these routes (or a CORS preflight); adds CORS headers
   * otherwise. A plain boolean where nothing is awaited (every /graphql request: no promise per request).
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean | Promise<boolean>;
  stop(): Promise<void>;
}

export async function httpRoutes(opts: HttpRoutesOptions): Promise<HttpRoutes> {
  const settings = opts.settings ?? httpSettings();
  const production = opts.config.NODE_ENV === "production";
  const allowed = corsOrigins(settings.CORS_ORIGINS, production);
  const ide =
    (settings.GRAPHIQL ?? (production ? "false" : "true")) === "true"
      ? graphiql({
          assetsDir: path.join(REPO_ROOT, "gateway/src/generated/graphiql"),
          operationsDir: path.join(REPO_ROOT, "schema/operations"),
        })
      : undefined;
  const board =
    (settings.ADMIN_QUEUES ?? "true") === "true"
      ? admin({
          auth: opts.auth,
          execute: opts.execute,
          redisUrl: opts.config.REDIS_URL,
          redisPrefix: opts.config.REDIS_PREFIX,
          secureCookie: (settings.ADMIN_COOKIE_SECURE ?? (production ? "true" : "false")) === "true",
          log: opts.log,
          clientIp: opts.clientIp,
        })
      : undefined;
  return {
    handle(req, res, url) {
      if (url.pathname === "/graphql") return applyCors(allowed, req, res) || !!ide?.handle(req, res, url);
      if (ide?.handle(req, res, url)) return true;
      if (board && url.pathname.startsWith("/admin")) return board.handle(req, res, url, bodyReader(req));
      return false;
    },
    async stop() {
      await board?.stop();
    },
  };
}
