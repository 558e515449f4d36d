/**
 * Bull Board (`@bull-board/api` + the `@bull-board/ui` bundle) on Node's own HTTP server: a small
 * server adapter, so the gateway needs no web framework. It serves the UI's page and static files
 * and the board's JSON API under one base path. Who may reach it is decided by the caller
 * (./admin.ts); this file only speaks Bull Board.
 */
import { readFileSync } from "node:fs";
import type http from "node:http";
import path from "node:path";
import type {
  AppControllerRoute,
  AppViewRoute,
  BullBoardQueues,
  ControllerHandlerReturnType,
  IServerAdapter,
  UIConfig,
} from "@bull-board/api/dist/types.js";

interface ApiRoute {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: AppControllerRoute["handler"];
}

const MIME: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
};
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `/api/queues/:queueName/:jobId` → a regex with one group per `:param`. */
function compile(route: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = route.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_, k: string) => (keys.push(k), "([^/]+)"));
  return { pattern: new RegExp(`^${source}/?$`), keys };
}

export class NodeHttpBoard implements IServerAdapter {
  private queues: BullBoardQueues = new Map();
  private viewsPath = "";
  private staticRoute = "/static";
  private staticPath = "";
  private entry?: { pattern: RegExp[]; handler: AppViewRoute["handler"] };
  private errorHandler: (e: Error) => ControllerHandlerReturnType = (e) => ({ status: 500, body: { error: e.message } });
  private routes: ApiRoute[] = [];
  private uiConfig: UIConfig = {} as UIConfig;
  private template?: string;

  constructor(readonly basePath: string) {}

  setQueues(q: BullBoardQueues): IServerAdapter {
    this.queues = q;
    return this;
  }
  setViewsPath(p: string): IServerAdapter {
    this.viewsPath = p;
    return this;
  }
  setStaticPath(route: string, p: string): IServerAdapter {
    this.staticRoute = route;
    this.staticPath = p;
    return this;
  }
  setEntryRoute(route: AppViewRoute): IServerAdapter {
    this.entry = { pattern: [route.route].flat().map((r) => compile(r).pattern), handler: route.handler };
    return this;
  }
  setErrorHandler(handler: (error: Error) => ControllerHandlerReturnType): IServerAdapter {
    this.errorHandler = handler;
    return this;
  }
  setApiRoutes(routes: AppControllerRoute[]): IServerAdapter {
    this.routes = routes.flatMap((r) =>
      [r.route]
        .flat()
        .flatMap((route) => [r.method].flat().map((method) => ({ method: method.toUpperCase(), ...compile(route), handler: r.handler }))),
    );
    return this;
  }
  setUIConfig(config: UIConfig): IServerAdapter {
    this.uiConfig = config;
    return this;
  }

  /** Answers a request whose path is under the base path (`sub` is the rest, starting with "/"). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, sub: string, url: URL, body: Buffer): Promise<void> {
    const method = req.method ?? "GET";
    if (sub.startsWith("/api/")) {
      for (const r of this.routes) {
        if (r.method !== method) continue;
        const m = r.pattern.exec(sub);
        if (!m) continue;
        const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1] ?? "")]));
        const query: Record<string, string | string[]> = {};
        for (const [k, v] of url.searchParams) {
          const previous = query[k];
          query[k] = previous === undefined ? v : [previous, v].flat();
        }
        let result: ControllerHandlerReturnType;
        try {
          const parsed = body.length ? JSON.parse(body.toString("utf8")) : {};
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          result = await r.handler({ queues: this.queues, uiConfig: this.uiConfig, query, params, body: parsed, headers });
        } catch (e) {
          result = this.errorHandler(e as Error);
        }
        const status = result.status ?? 200;
        if (status === 204) res.writeHead(204, { "cache-control": "no-store" }).end();
        else
          res
            .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
            .end(JSON.stringify(result.body));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
      return;
    }
    if (method === "GET" && sub.startsWith(`${this.staticRoute}/`)) return this.serveStatic(res, sub.slice(this.staticRoute.length + 1));
    if (method === "GET" && this.entry?.pattern.some((p) => p.test(sub))) {
      const view = this.entry.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
      this.template ??= readFileSync(path.join(this.viewsPath, view.name), "utf8")
        // No requests to other hosts from an operator's browser (and none work offline).
        .replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, "");
      const html = this.template.replace(/<%([=-])\s*(\w+)\s*%>/g, (_, kind: string, key: string) => {
        const v = view.params[key] ?? "";
        return kind === "=" ? escapeHtml(v) : v;
      });
      res
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "x-frame-options": "DENY",
          "referrer-policy": "same-origin",
        })
        .end(html);
      return;
    }
    res.writeHead(404).end();
  }

  private serveStatic(res: http.ServerResponse, rel: string): void {
    const file = path.resolve(this.staticPath, decodeURIComponent(rel));
    if (!file.startsWith(this.staticPath + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, {
        "content-type": MIME[path.extname(file)] ?? "application/octet-stream",
        "cache-control": "public, max-age=3600",
        "x-content-type-options": "nosniff",
      })
      .end(data);
  }
}
