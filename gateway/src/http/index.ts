/**
 * The gateway's HTTP routes besides GraphQL itself, kept apart from the GraphQL pipeline: CORS on
 * the GraphQL path, GraphiQL (development), and the operators' queue dashboard (/admin/queues).
 * `createGateway` asks `handle` first; it answers what is its own and returns true.
 */
import type http from "node:http";
import path from "node:path";
import { z } from "zod";
import type { Config } from "@mallgraph/platform/config";
import { applyCors, corsOrigins } from "./cors.ts";
import { graphiql } from "./graphiql.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

const schema = z.object({
  /** Origins allowed to call /graphql from a browser: comma-separated, or `*`. Default: localhost outside production. */
  CORS_ORIGINS: z.string().optional(),
  /** GraphiQL on GET /graphql for browsers; default on outside production. */
  GRAPHIQL: z.enum(["true", "false"]).optional(),
});

export type HttpSettings = z.infer<typeof schema>;

export function httpSettings(env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid gateway configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  return parsed.data;
}

export interface HttpRoutesOptions {
  config: Config;
  settings?: HttpSettings;
}

export interface HttpRoutes {
  /** Answers the request when it is one of these routes (or a CORS preflight); adds CORS headers otherwise. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>;
  stop(): Promise<void>;
}

export async function httpRoutes(opts: HttpRoutesOptions): Promise<HttpRoutes> {
  const settings = opts.settings ?? httpSettings();
  const production = opts.config.NODE_ENV === "production";
  const allowed = corsOrigins(settings.CORS_ORIGINS, production);
  const ide = (settings.GRAPHIQL ?? (production ? "false" : "true")) === "true"
    ? graphiql({ assetsDir: path.join(REPO_ROOT, "gateway/src/generated/graphiql"), operationsDir: path.join(REPO_ROOT, "schema/operations") })
    : undefined;
  return {
    async handle(req, res, url) {
      if (url.pathname === "/graphql") {
        if (applyCors(allowed, req, res)) return true;
      }
      if (ide?.handle(req, res, url)) return true;
      return false;
    },
    async stop() {},
  };
}
