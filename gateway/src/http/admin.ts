/**
 * The operators' queue dashboard: Bull Board at /admin/queues, behind a login page.
 *
 *   GET  /admin/login    a small form (username, password)
 *   POST /admin/login    runs the public `adminLogin` mutation (member subgraph, through the gateway's
 *                        own executor: same lock-out and audit as the API), verifies the token like any
 *                        API call, and lets in only operators holding QUEUES_PERMISSION: the access
 *                        token goes into an HttpOnly, SameSite=Strict cookie scoped to /admin
 *   POST /admin/logout   ends that session (the `logout` mutation) and clears the cookie
 *   /admin/queues/…      every request re-checks the cookie's session (revocation applies within the
 *                        session cache's ~1 s) and the permission; no cookie: back to the login page
 *
 * The session lasts as long as the access token (ACCESS_TOKEN_TTL_SECONDS); then the operator logs in
 * again. SameSite=Strict keeps other sites from driving the board's state-changing calls; those must
 * also come from the gateway's own origin when the browser says where they come from.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ANONYMOUS, type Identity } from "@mallgraph/platform/auth";
import type { Logger } from "@mallgraph/platform/log";
import { createQueue, QueueName, type Queue } from "@mallgraph/platform/queue";
import type { ClientIp } from "../client-ip.ts";
import type { RequestState } from "../plugins/types.ts";
import type { AuthPlugin } from "../plugins/useAuth.ts";
import type { Execute } from "../subscriptions/index.ts";
import { escapeHtml, NodeHttpBoard } from "./bullBoard.ts";

/** The operator permission that opens the queue dashboard (seeded with the member domain's RBAC). */
export const QUEUES_PERMISSION = "queues:manage";
export const ADMIN_COOKIE = "mg_admin";
const BASE = "/admin/queues";

export interface AdminOptions {
  auth: AuthPlugin;
  execute: Execute;
  redisUrl: string;
  redisPrefix: string;
  /** Mark the cookie Secure (behind TLS). Requests that arrive as https (x-forwarded-proto) always get it. */
  secureCookie: boolean;
  log: Logger;
  /** The client's address (TRUSTED_PROXIES); default the socket's. */
  clientIp?: ClientIp;
}

function readCookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;background:#151a21;color:#e6e9ef;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
form{background:#1f2630;padding:2rem;border-radius:8px;display:flex;flex-direction:column;gap:.75rem;width:18rem}
input,button{font:inherit;padding:.5rem;border-radius:4px;border:1px solid #3a4452;background:#151a21;color:inherit}button{background:#3d7eff;border:0;cursor:pointer}
.error{color:#ff8a80;margin:0}</style></head><body>${body}</body></html>`;

export function loginPage(message?: string): string {
  return page(
    "mallgraph · operators",
    `<form method="post" action="/admin/login">
<h1 style="font-size:1.2rem;margin:0">mallgraph queues</h1>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ""}
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>`,
  );
}

export interface Admin {
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, readBody: () => Promise<Buffer>): Promise<boolean>;
  stop(): Promise<void>;
}

export function admin(opts: AdminOptions): Admin {
  let board: { adapter: NodeHttpBoard; queues: Queue[] } | undefined;
  /** The board and its queues are made at the first authorised request (the gateway otherwise opens no queue). */
  const getBoard = () => {
    if (!board) {
      const ctx = { redisUrl: opts.redisUrl, redisPrefix: opts.redisPrefix };
      const queues = Object.values(QueueName).map((name) => createQueue(ctx, name));
      const adapter = new NodeHttpBoard(BASE);
      createBullBoard({
        queues: queues.map((q) => new BullMQAdapter(q)),
        serverAdapter: adapter,
        options: { uiConfig: { boardTitle: "mallgraph queues" } },
      });
      board = { adapter, queues };
    }
    return board;
  };

  const state = (req: http.IncomingMessage): RequestState => ({
    transport: "http",
    headers: {},
    ip: opts.clientIp?.(req) ?? req.socket.remoteAddress ?? "unknown",
    identity: ANONYMOUS,
    requestId: randomUUID(),
    method: "POST",
    responseHeaders: {},
  });
  const run = async (req: http.IncomingMessage, query: string, variables: Record<string, unknown>, identity: Identity = ANONYMOUS) => {
    const st = state(req);
    st.identity = identity;
    return opts.execute({ query, variables }, { identity, requestId: st.requestId, state: st });
  };

  const cookie = (req: http.IncomingMessage, value: string, maxAge: number) => {
    const secure = opts.secureCookie || req.headers["x-forwarded-proto"] === "https";
    return `${ADMIN_COOKIE}=${encodeURIComponent(value)}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
  };
  const html = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void =>
    void res
      .writeHead(status, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        ...headers,
      })
      .end(body);

  /** The operator behind the cookie, when the session is live and holds the permission. */
  async function operator(req: http.IncomingMessage): Promise<{ identity?: Identity; reason?: "none" | "invalid" | "forbidden" }> {
    const token = readCookie(req, ADMIN_COOKIE);
    if (!token) return { reason: "none" };
    let identity: Identity;
    try {
      identity = await opts.auth.authenticate(`Bearer ${token}`, "admin");
    } catch {
      return { reason: "invalid" };
    }
    if (identity.kind !== "admin" || !identity.permissions?.includes(QUEUES_PERMISSION)) return { identity, reason: "forbidden" };
    return { identity };
  }

  /** A state-changing request must not come from another origin (when the browser names one). */
  const sameOrigin = (req: http.IncomingMessage) => {
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  async function login(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    if (!sameOrigin(req)) return html(res, 403, loginPage("Log in from this site's own page."));
    const form = new URLSearchParams(body.toString("utf8"));
    const username = form.get("username") ?? "";
    const password = form.get("password") ?? "";
    if (!username || !password) return html(res, 400, loginPage("Enter a username and a password."));
    const r = await run(
      req,
      "mutation AdminBoardLogin($u: String!, $p: String!) { adminLogin(username: $u, password: $p) { accessToken } }",
      { u: username, p: password },
    );
    const token = (r.data as { adminLogin?: { accessToken?: string } } | null | undefined)?.adminLogin?.accessToken;
    if (!token) {
      const code = r.errors?.[0]?.extensions?.code;
      opts.log.info({ username, code }, "queue dashboard login refused");
      return html(
        res,
        401,
        loginPage(
          code === "ACCOUNT_LOCKED" || code === "RATE_LIMITED" ? "Too many attempts: try again later." : "Wrong username or password.",
        ),
      );
    }
    const identity = await opts.auth.authenticate(`Bearer ${token}`, "admin");
    if (!identity.permissions?.includes(QUEUES_PERMISSION)) {
      // Not for this operator: end the session the login just opened.
      await run(req, "mutation { logout }", {}, identity).catch(() => undefined);
      return html(res, 403, loginPage(`This operator lacks the "${QUEUES_PERMISSION}" permission.`));
    }
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: number };
    const maxAge = Math.max(1, (payload.exp ?? 0) - Math.floor(Date.now() / 1000));
    opts.log.info({ operator: identity.id }, "queue dashboard login");
    res.writeHead(303, { location: `${BASE}/`, "set-cookie": cookie(req, token, maxAge), "cache-control": "no-store" }).end();
  }

  return {
    async handle(req, res, url, readBody) {
      const p = url.pathname;
      if (p !== "/admin/login" && p !== "/admin/logout" && p !== BASE && !p.startsWith(`${BASE}/`)) return false;
      const method = req.method ?? "GET";
      if (p === "/admin/login") {
        if (method === "GET") html(res, 200, loginPage());
        else if (method === "POST") await login(req, res, await readBody());
        else res.writeHead(405, { allow: "GET, POST" }).end();
        return true;
      }
      if (p === "/admin/logout") {
        if (method !== "POST" || !sameOrigin(req)) {
          res.writeHead(405, { allow: "POST" }).end();
          return true;
        }
        const who = await operator(req);
        if (who.identity) await run(req, "mutation { logout }", {}, who.identity).catch(() => undefined);
        res.writeHead(303, { location: "/admin/login", "set-cookie": cookie(req, "", 0), "cache-control": "no-store" }).end();
        return true;
      }
      const who = await operator(req);
      if (!who.identity || who.reason) {
        if (p.startsWith(`${BASE}/api/`)) {
          res
            .writeHead(who.reason === "forbidden" ? 403 : 401, { "content-type": "application/json" })
            .end(JSON.stringify({ error: who.reason === "forbidden" ? "forbidden" : "log in at /admin/login" }));
        } else if (who.reason === "forbidden") html(res, 403, loginPage(`This operator lacks the "${QUEUES_PERMISSION}" permission.`));
        else
          res.writeHead(303, { location: "/admin/login", ...(who.reason === "invalid" ? { "set-cookie": cookie(req, "", 0) } : {}) }).end();
        return true;
      }
      if (method !== "GET" && !sameOrigin(req)) {
        res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ error: "cross-origin request refused" }));
        return true;
      }
      if (p === BASE) {
        res.writeHead(301, { location: `${BASE}/` }).end();
        return true;
      }
      await getBoard().adapter.handle(req, res, p.slice(BASE.length), url, method === "GET" ? Buffer.alloc(0) : await readBody());
      return true;
    },
    async stop() {
      if (board) await Promise.all(board.queues.map((q) => q.close().catch(() => undefined)));
    },
  };
}
