/**
 * The forwarded path's own HTTP/1.1 client (src/http1-client.ts, decision 0047) against real
 * servers on loopback — Node's HTTP server and raw sockets that answer byte by byte, in chunks, with
 * `Connection: close`, or not at all: connections reused, answers framed by content-length, chunks
 * or the connection's end, at most `maxSockets` connections with the other calls waiting, and every
 * failure (refused, cut short, timed out, closed client) failing that call only, never re-sending it.
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Http1Client, Http1Error, Http1Timeout, plainHeaderValue } from "../src/http1-client.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A Node HTTP server; counts connections and requests; `handler` answers. */
async function nodeServer(handler: http.RequestListener) {
  const server = http.createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

/** A raw TCP server: `onRequest` gets each socket's first complete request (head and body) as text. */
async function rawServer(onRequest: (socket: net.Socket, request: string) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let text = "";
    socket.on("data", (b) => {
      text += b.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      const request = text.slice(0, end + 4 + length);
      text = text.slice(end + 4 + length);
      onRequest(socket, request);
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

function client(origin: string, opts?: ConstructorParameters<typeof Http1Client>[1]) {
  const c = new Http1Client(origin, opts);
  closers.push(async () => c.close());
  return c;
}

const header = (headers: string[], name: string) => headers[headers.indexOf(name) + 1];

describe("Http1Client", () => {
  it("sends the request as given and reuses one connection for calls one after another", async () => {
    const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const s = await nodeServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { "content-type": "application/json", "x-echo": Buffer.byteLength(body) }).end(`{"data":${body}}`);
      });
    });
    const c = client(s.origin);
    for (let i = 0; i < 5; i++) {
      const a = await c.post("/graphql?x=1", "content-type: application/json\r\nx-mg-identity: a.b.c\r\n", `{"n":${i},"s":"é"}`, 5000);
      expect(a.status).toBe(200);
      expect(a.body).toBe(`{"data":{"n":${i},"s":"é"}}`);
      expect(header(a.headers, "x-echo")).toBe(String(Buffer.byteLength(`{"n":${i},"s":"é"}`)));
    }
    expect(s.connections()).toBe(1);
    expect(c.connections).toBe(1);
    expect(seen[4]).toMatchObject({
      method: "POST",
      url: "/graphql?x=1",
      body: '{"n":4,"s":"é"}',
      headers: { "content-type": "application/json", "x-mg-identity": "a.b.c", host: s.origin.slice(7) },
    });
  });

  it("reads answers split anywhere: the head and body byte by byte, chunked bodies, bodies ended by the connection's close", async () => {
    const answers = [
      "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nx-a: 1\r\nX-A: 2\r\n\r\nhello world",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
    ];
    let n = 0;
    const s = await rawServer((socket) => {
      const bytes = Buffer.from(answers[n++ % answers.length]!);
      // one byte per write, each after the last has left
      let i = 0;
      const next = () => (i < bytes.length ? socket.write(bytes.subarray(i, ++i), next) : undefined);
      next();
    });
    const c = client(s.origin);
    const first = await c.post("/", "", "{}", 5000);
    expect(first).toEqual({ status: 200, headers: ["content-length", "11", "x-a", "1", "x-a", "2"], body: "hello world" });
    expect((await c.post("/", "", "{}", 5000)).body).toBe("hello world");
    expect(await c.post("/", "", "{}", 5000)).toMatchObject({ status: 201, body: "ok" });
    expect(s.sockets.size).toBe(1);

    const closing = await rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\n\r\nuntil the end"));
    const c2 = client(closing.origin);
    expect((await c2.post("/", "", "{}", 5000)).body).toBe("until the end");
    expect((await c2.post("/", "", "{}", 5000)).body).toBe("until the end");
  });

  it("opens at most maxSockets connections; the other calls wait their turn and each gets its own answer", async () => {
    const s = await nodeServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => setImmediate(() => res.writeHead(200, { "content-type": "application/json" }).end(body)));
    });
    const c = client(s.origin, { maxSockets: 2 });
    const bodies = Array.from({ length: 20 }, (_, i) => `{"i":${i},"pad":"${"x".repeat(i * 5000)}"}`);
    const answers = await Promise.all(bodies.map((b) => c.post("/", "", b, 5000)));
    expect(answers.map((a) => a.body)).toEqual(bodies);
    expect(s.connections()).toBe(2);
    expect(c.connections).toBe(2);
  });

  it("does not reuse a connection the server closes or asks to close, nor keep one past the server's keep-alive time-out", async () => {
    let n = 0;
    const s = await rawServer((socket) => {
      n++;
      if (n === 1) socket.end("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na");
      else if (n === 2) socket.write("HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 1\r\n\r\nb");
      else if (n === 3) socket.write("HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nc");
      else {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nd");
        // idle now: the server drops it, as a subgraph's keep-alive time-out would
        setImmediate(() => socket.destroy());
      }
    });
    const c = client(s.origin);
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) bodies.push((await c.post("/", "", "{}", 5000)).body);
    // let the last connection's close arrive, then one more call: a fresh connection, no error
    await new Promise((r) => setTimeout(r, 50));
    bodies.push((await c.post("/", "", "{}", 5000)).body);
    expect(bodies).toEqual(["a", "b", "c", "d", "d"]);
    expect(n).toBe(5);
  });

  it("fails only the call whose answer is cut short, malformed or too long, and never sends it again", async () => {
    const received: string[] = [];
    const answers = [
      (s: net.Socket) => s.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"),
      (s: net.Socket) => s.end("SMTP ready\r\n\r\n"),
      (s: net.Socket) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\ntoo long"),
      (s: net.Socket) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    ];
    const s = await rawServer((socket, request) => {
      received.push(request.slice(request.indexOf("\r\n\r\n") + 4));
      answers[received.length - 1]!(socket);
    });
    const c = client(s.origin);
    await expect(c.post("/", "", '{"n":1}', 5000)).rejects.toThrow(Http1Error);
    await expect(c.post("/", "", '{"n":2}', 5000)).rejects.toThrow(/not an HTTP/);
    await expect(c.post("/", "", '{"n":3}', 5000)).rejects.toThrow(/longer than/);
    expect((await c.post("/", "", '{"n":4}', 5000)).body).toBe("ok");
    expect(received).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  });

  it("times a call out when its answer does not come, and closes that connection", async () => {
    const s = await rawServer(() => undefined);
    const c = client(s.origin);
    await expect(c.post("/", "", "{}", 150)).rejects.toThrow(Http1Timeout);
    expect(c.connections).toBe(0);
    // the call waiting for a connection times out too
    const one = client(s.origin, { maxSockets: 1 });
    const calls = [one.post("/", "", "{}", 150), one.post("/", "", "{}", 150)];
    for (const call of calls) await expect(call).rejects.toThrow(Http1Timeout);
  });

  it("fails a call to a port nobody listens on, and calls in flight when the client is closed", async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", () => r()));
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    await expect(client(`http://127.0.0.1:${port}`).post("/", "", "{}", 5000)).rejects.toThrow(Http1Error);

    const s = await rawServer(() => undefined);
    const c = client(s.origin);
    const pending = c.post("/", "", "{}", 5000);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
    await expect(pending).rejects.toThrow(/client closed/);
    await expect(c.post("/", "", "{}", 5000)).rejects.toThrow(/client closed/);
  });

  it("accepts only printable ASCII header values as they are", () => {
    expect(plainHeaderValue("a1b2-c3d4_.~ ok\t")).toBe(true);
    expect(plainHeaderValue("é")).toBe(false);
    expect(plainHeaderValue("a\r\nx-evil: 1")).toBe(false);
  });
});
