/**
 * GraphiQL on `GET /graphql` for a browser (development only): the page asks for text/html, API
 * clients ask for JSON and never see it. The IDE is the `graphiql` package bundled locally by
 * `gateway/graphiql/build.mjs` (npm run generate) — no CDN. Queries and mutations go over HTTP,
 * subscriptions over graphql-ws on the same path; the trusted operations (schema/operations/*.graphql)
 * open as example tabs, one per contract section. `?query=` opens a tab with that document.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type http from "node:http";
import path from "node:path";

const ASSETS: Record<string, string> = { "graphiql.js": "text/javascript; charset=utf-8", "graphiql.css": "text/css; charset=utf-8" };
export const GRAPHIQL_ASSET_PATH = "/graphiql/";

/** True when a GET looks like a browser navigation (HTML preferred over JSON). */
export function wantsHtml(req: http.IncomingMessage): boolean {
  if (req.method !== "GET") return false;
  const accept = req.headers.accept ?? "";
  return accept.includes("text/html") && !/application\/(graphql-response\+)?json/.test(accept.split(",")[0] ?? "");
}

/** One example tab per section file of the contract. */
export function operationExamples(dir: string): Array<{ query: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => ({ query: readFileSync(path.join(dir, f), "utf8") }));
}

const escapeJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");

export function graphiqlPage(opts: { graphqlPath: string; examples: Array<{ query: string }> }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>mallgraph · GraphiQL</title>
<link rel="stylesheet" href="${GRAPHIQL_ASSET_PATH}graphiql.css">
<style>html,body,#graphiql{height:100%;margin:0}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="graphiql-config" type="application/json">${escapeJson({ path: opts.graphqlPath, examples: opts.examples })}</script>
<script src="${GRAPHIQL_ASSET_PATH}graphiql.js"></script>
</body>
</html>`;
}

export interface GraphiQL {
  /** Answers the page or one of its assets; false when the request is not for GraphiQL. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean;
}

/** `assetsDir` holds the bundle (src/generated/graphiql); `operationsDir` the contract sections. */
export function graphiql(opts: { assetsDir: string; operationsDir: string; graphqlPath?: string }): GraphiQL {
  const graphqlPath = opts.graphqlPath ?? "/graphql";
  let page: string | undefined;
  const assets = new Map<string, Buffer>();
  const asset = (name: string): Buffer | undefined => {
    if (!assets.has(name)) {
      const file = path.join(opts.assetsDir, name);
      if (!existsSync(file)) return undefined;
      assets.set(name, readFileSync(file));
    }
    return assets.get(name);
  };
  return {
    handle(req, res, url) {
      if (url.pathname === graphqlPath && wantsHtml(req)) {
        if (!asset("graphiql.js")) {
          res.writeHead(503, { "content-type": "text/plain; charset=utf-8" }).end("GraphiQL is not built: run `npm run generate`.\n");
          return true;
        }
        page ??= graphiqlPage({ graphqlPath, examples: operationExamples(opts.operationsDir) });
        res
          .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" })
          .end(page);
        return true;
      }
      if (req.method === "GET" && url.pathname.startsWith(GRAPHIQL_ASSET_PATH)) {
        const name = url.pathname.slice(GRAPHIQL_ASSET_PATH.length);
        const body = ASSETS[name] ? asset(name) : undefined;
        if (!body) res.writeHead(404).end();
        else
          res
            .writeHead(200, { "content-type": ASSETS[name], "cache-control": "public, max-age=300", "x-content-type-options": "nosniff" })
            .end(body);
        return true;
      }
      return false;
    },
  };
}
