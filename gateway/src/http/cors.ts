/**
 * CORS for browser frontends on other origins (GraphQL path only; /admin is same-origin only).
 *
 * - Allowed origins: `CORS_ORIGINS` (comma-separated, exact `scheme://host[:port]`, or `*`). Unset:
 *   any localhost origin (`http(s)://localhost|127.0.0.1|[::1]` on any port) outside production, none
 *   in production.
 * - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin gets 204 with the
 *   methods and headers the API uses; from any other origin 403 without CORS headers.
 * - Credentials: the API authenticates with the `Authorization` header, never with cookies, so
 *   `Access-Control-Allow-Credentials` is never sent: browsers must call it with `credentials: "omit"`
 *   or `"same-origin"` (fetch's default). This is what keeps other sites from riding on a user's
 *   cookies (and why Apollo's CSRF prevention is off).
 */
import type http from "node:http";

export const CORS_ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "accept",
  "apollographql-client-name",
  "apollographql-client-version",
  "x-request-id",
  "apollo-require-preflight",
];
export const CORS_EXPOSED_HEADERS = ["x-request-id", "retry-after"];
const MAX_AGE_SECONDS = 600;
const LOCALHOST = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

export type OriginRule = (origin: string) => boolean;

/** The origin rule from `CORS_ORIGINS` (see the file header). */
export function corsOrigins(value: string | undefined, production: boolean): OriginRule {
  const list = (value ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/$/, ""))
    .filter(Boolean);
  if (!list.length) return production ? () => false : (o) => LOCALHOST.test(o);
  if (list.includes("*")) return () => true;
  const set = new Set(list.map((o) => o.toLowerCase()));
  return (o) => set.has(o.toLowerCase());
}

/**
 * Applies CORS to one request on the GraphQL path: adds the headers for an allowed origin, and
 * answers a preflight itself. Returns true when the response was sent.
 */
export function applyCors(allowed: OriginRule, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const origin = req.headers.origin;
  res.setHeader("vary", "Origin");
  const ok = typeof origin === "string" && allowed(origin);
  if (ok) {
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", CORS_EXPOSED_HEADERS.join(", "));
  }
  if (req.method !== "OPTIONS") return false;
  if (origin !== undefined && !ok) {
    res.writeHead(403, { allow: "GET, POST, OPTIONS" }).end();
    return true;
  }
  if (!req.headers["access-control-request-method"]) {
    res.writeHead(204, { allow: "GET, POST, OPTIONS" }).end();
    return true;
  }
  res.writeHead(204, {
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": CORS_ALLOWED_HEADERS.join(", "),
    "access-control-max-age": String(MAX_AGE_SECONDS),
  });
  res.end();
  return true;
}
