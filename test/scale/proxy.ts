/**
 * A small reverse proxy that puts several instances behind one address on this machine (issue 14,
 * decision 0033): HTTP requests and WebSocket upgrades (graphql-ws subscriptions) go round robin to
 * the targets; a target that refuses the connection is skipped for that request (HTTP). It adds
 * `X-Forwarded-For` (the gateway believes it only from TRUSTED_PROXIES) and counts what each target
 * got. The tests and `bench/scale.ts` use it; in production a load balancer does this job (nginx,
 * HAProxy, a Kubernetes Service — docs/scaling.md).
 *
 *   npx tsx test/scale/proxy.ts --port 4000 --to 127.0.0.1:4100,127.0.0.1:4101
 */
import http from "node:http";
import net from "node:net";

export interface Proxy {
  url: string;
  port: number;
  /** Requests and upgrades each target was given, by `host:port`. */
  counts: Map<string, number>;
  stop: () => Promise<void>;
}

export interface ProxyOptions {
  /** `host:port` of each instance. */
  targets: string[];
  port?: number;
  host?: string;
}

function split(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(":");
  return { host: target.slice(0, i), port: Number(target.slice(i + 1)) };
}

function forwardedFor(req: http.IncomingMessage): string {
  const prior = req.headers["x-forwarded-for"];
  const peer = req.socket.remoteAddress ?? "";
  return prior ? `${Array.isArray(prior) ? prior.join(", ") : prior}, ${peer}` : peer;
}

/** Headers of one connection (RFC 9110 §7.6.1), never forwarded by a proxy. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"];

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  if (!opts.targets.length) throw new Error("the proxy needs at least one target");
  const counts = new Map(opts.targets.map((t) => [t, 0]));
  let next = 0;
  /** The targets in the order to try for one request, starting with the next in turn. */
  const order = () => {
    const start = next++ % opts.targets.length;
    return opts.targets.map((_, i) => opts.targets[(start + i) % opts.targets.length] ?? "");
  };
  const sockets = new Set<net.Socket>();

  const server = http.createServer(async (req, res) => {
    // the body is read first (GraphQL requests are small), so a refused connection can go to the next instance
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const candidates = order();
    const attempt = (i: number) => {
      const target = candidates[i];
      if (!target) {
        res.writeHead(502, { "content-type": "text/plain" }).end("no instance answered");
        return;
      }
      const { host, port } = split(target);
      const upstream = http.request(
        { host, port, method: req.method, path: req.url, headers: { ...req.headers, "x-forwarded-for": forwardedFor(req) } },
        (up) => {
          counts.set(target, (counts.get(target) ?? 0) + 1);
          // hop-by-hop headers belong to the gateway's connection, not the client's: the gateway's
          // `keep-alive: timeout=65` passed on let clients keep an idle socket that this server closes
          // after its own time-out, and their next request met "other side closed"
          const headers = Object.fromEntries(Object.entries(up.headers).filter(([h]) => !HOP_BY_HOP.includes(h)));
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ECONNREFUSED" && !res.headersSent) return attempt(i + 1);
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`upstream ${target}: ${e.message}`);
      });
      upstream.end(body);
    };
    attempt(0);
  });

  // WebSocket: replay the upgrade request to the target, then splice the two sockets.
  server.on("upgrade", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = order()[0] ?? "";
    counts.set(target, (counts.get(target) ?? 0) + 1);
    const { host, port } = split(target);
    const upstream = net.connect(port, host, () => {
      const headers = { ...req.headers, "x-forwarded-for": forwardedFor(req) };
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers))
        for (const value of Array.isArray(v) ? v : [v]) if (value !== undefined) lines.push(`${k}: ${value}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
    client.once("close", () => upstream.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts,
    stop: async () => {
      for (const s of sockets) s.destroy();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const targets = (arg("to") ?? "").split(",").filter(Boolean);
  if (!targets.length) {
    console.error("usage: npx tsx test/scale/proxy.ts [--port 4000] --to host:port,host:port,…");
    process.exit(2);
  }
  const proxy = await startProxy({ targets, port: Number(arg("port") ?? 4000), host: arg("host") ?? "0.0.0.0" });
  console.log(`proxy on ${proxy.url} → ${targets.join(", ")}`);
  const stop = () => void proxy.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
