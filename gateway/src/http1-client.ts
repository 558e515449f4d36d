/**
 * A minimal keep-alive HTTP/1.1 client for the forwarded path's subgraph calls (src/forward.ts,
 * decision 0047): one POST per connection at a time, the whole request written as one string (one
 * `write` per call), the answer read whole (status, header lines, body by `content-length`,
 * `transfer-encoding: chunked` or until the connection closes).
 *
 * Why not undici for these calls: with the subgraph call at one POST and one small JSON answer, what
 * undici adds per call — its request object and header validation, its dispatch queue (`_resume`),
 * llhttp in WASM, cork/uncork of two writes — was the largest share of the gateway's own JavaScript
 * in the `seckillBuy` profile (bench/RESULTS.md, decision 0047). The normal pipeline keeps undici.
 *
 * What it keeps from the Agent it replaces for these calls: connections are reused (at most
 * `maxSockets` per origin, further calls wait in order), no Nagle, an idle connection is closed after
 * `keepAliveMs` or before the server's own `Keep-Alive: timeout` runs out (one second early, as
 * undici does), and idle sockets do not hold the process open. A call is never sent twice: a
 * connection that fails or closes before its answer is complete fails that call (the data source
 * turns it into SERVICE_UNAVAILABLE, like undici's socket errors). A call with no complete answer
 * within its time-out fails with `Http1Timeout` and its connection is destroyed.
 */
import net from "node:net";

export class Http1Timeout extends Error {}
export class Http1Error extends Error {}

export interface Http1Answer {
  status: number;
  /** Header names (lower case) and values, alternating. */
  headers: string[];
  body: string;
}

interface Call {
  head: string;
  deadline: number;
  resolve: (a: Http1Answer) => void;
  reject: (e: Error) => void;
}

const CRLF2 = Buffer.from("\r\n\r\n");
/** The server's `Keep-Alive: timeout=N` is trusted to this margin (undici's keepAliveTimeoutThreshold). */
const KEEP_ALIVE_MARGIN_MS = 1000;
/** Header values sent as they are: printable ASCII and tab (anything else goes through undici). */
const PLAIN_VALUE = /^[\t\x20-\x7e]*$/;

export function plainHeaderValue(v: string): boolean {
  return PLAIN_VALUE.test(v);
}

/** One connection: the answer to its call in flight is parsed as its bytes arrive. */
class Connection {
  call: Call | undefined;
  /** Monotonic ms after which this idle connection is not used again. */
  expires = Infinity;
  private head: Buffer | undefined;
  private status = 0;
  private headers: string[] = [];
  private body: Buffer[] = [];
  /** Bytes of body still expected (content-length), -1 chunked, -2 until close, -3 reading the head. */
  private remaining = -3;
  private chunkLeft = 0;
  private chunkTrailer = false;
  private keepAlive = true;
  private serverKeepAliveMs = Infinity;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Http1Client,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => this.onData(b));
    socket.on("end", () => this.onClosed(true));
    socket.on("close", () => this.onClosed(false));
    socket.on("error", (e) => this.fail(new Http1Error(e.message)));
  }

  send(call: Call): void {
    this.call = call;
    this.remaining = -3;
    this.head = undefined;
    this.headers = [];
    this.body = [];
    this.status = 0;
    this.socket.ref();
    this.socket.write(call.head);
  }

  private onData(b: Buffer): void {
    if (!this.call) {
      // bytes nobody asked for: the connection cannot be trusted any more
      this.socket.destroy();
      return;
    }
    try {
      this.consume(b);
    } catch (e) {
      this.fail(e instanceof Error ? e : new Http1Error(String(e)));
    }
  }

  private consume(input: Buffer): void {
    let b = input;
    if (this.remaining === -3) {
      const all = this.head ? Buffer.concat([this.head, b]) : b;
      const end = all.indexOf(CRLF2);
      if (end < 0) {
        if (all.length > 64 * 1024) throw new Http1Error("answer head too large");
        this.head = all;
        return;
      }
      this.head = undefined;
      this.parseHead(all.toString("latin1", 0, end));
      b = all.subarray(end + 4);
      if (this.status < 200) {
        // an interim answer (100 Continue): the real one follows
        this.remaining = -3;
        if (b.length) this.consume(b);
        return;
      }
      if ((this.remaining as number) === 0) {
        if (b.length) throw new Http1Error("bytes after the answer");
        return this.complete();
      }
    }
    if (this.remaining >= 0) {
      if (b.length > this.remaining) throw new Http1Error("answer longer than its content-length");
      if (b.length) this.body.push(b);
      this.remaining -= b.length;
      if (this.remaining === 0) this.complete();
      return;
    }
    if (this.remaining === -2) {
      if (b.length) this.body.push(b);
      return; // complete when the server closes
    }
    this.consumeChunked(b);
  }

  private consumeChunked(input: Buffer): void {
    let b = input;
    while (b.length) {
      if (this.chunkLeft > 0) {
        const n = Math.min(this.chunkLeft, b.length);
        this.body.push(b.subarray(0, n));
        this.chunkLeft -= n;
        b = b.subarray(n);
        continue;
      }
      // a chunk's size line, the CRLF after a chunk's data, or the trailer after the last chunk
      const all = this.head ? Buffer.concat([this.head, b]) : b;
      const eol = all.indexOf("\r\n");
      if (eol < 0) {
        if (all.length > 8 * 1024) throw new Http1Error("chunk line too long");
        this.head = all;
        return;
      }
      this.head = undefined;
      const line = all.toString("latin1", 0, eol);
      b = all.subarray(eol + 2);
      if (this.chunkTrailer) {
        if (line === "") {
          if (b.length) throw new Http1Error("bytes after the answer");
          this.complete();
          return;
        }
        continue; // a trailer field: not used
      }
      if (line === "") continue; // the CRLF that ends a chunk's data
      const size = parseInt(line, 16);
      if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) throw new Http1Error("bad chunk size");
      if (size === 0) this.chunkTrailer = true;
      else this.chunkLeft = size;
    }
  }

  private parseHead(head: string): void {
    const lines = head.split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? "");
    if (!m) throw new Http1Error("not an HTTP/1.x answer");
    this.status = Number(m[2]);
    this.keepAlive = m[1] === "1";
    let length = -1;
    let chunked = false;
    const headers: string[] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Http1Error("bad header line");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.push(name, value);
      if (name === "content-length") {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0 || (length >= 0 && length !== n)) throw new Http1Error("bad content-length");
        length = n;
      } else if (name === "transfer-encoding") chunked = /(^|,)\s*chunked\s*$/i.test(value);
      else if (name === "connection") {
        const v = value.toLowerCase();
        if (v.includes("close")) this.keepAlive = false;
        else if (v.includes("keep-alive")) this.keepAlive = true;
      } else if (name === "keep-alive") {
        const t = /timeout=(\d+)/i.exec(value);
        if (t) this.serverKeepAliveMs = Number(t[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
      }
    }
    if (this.status < 200) return;
    this.headers = headers;
    this.chunkLeft = 0;
    this.chunkTrailer = false;
    // 204/304 have no body; chunked wins over content-length (RFC 9112 §6.3); else read until close
    if (this.status === 204 || this.status === 304) this.remaining = 0;
    else if (chunked) this.remaining = -1;
    else if (length >= 0) this.remaining = length;
    else {
      this.remaining = -2;
      this.keepAlive = false;
    }
  }

  private complete(): void {
    const call = this.call;
    if (!call) return;
    this.call = undefined;
    const c = this.body;
    const first = c[0];
    const text = c.length === 1 && first ? first.toString("utf8") : Buffer.concat(c).toString("utf8");
    const answer: Http1Answer = { status: this.status, headers: this.headers, body: text };
    this.body = [];
    this.headers = [];
    if (this.keepAlive && this.serverKeepAliveMs > 0) this.pool.release(this, this.serverKeepAliveMs);
    else this.pool.drop(this);
    call.resolve(answer);
  }

  /** Fails the call in flight (if any) and drops the connection. */
  fail(e: Error): void {
    const call = this.call;
    this.call = undefined;
    this.pool.drop(this);
    call?.reject(e);
  }

  private onClosed(ended: boolean): void {
    // an answer framed by the connection's end is complete now; any other is cut short
    if (this.call && this.remaining === -2) {
      this.keepAlive = false;
      this.complete();
      return;
    }
    this.fail(new Http1Error(ended ? "other side closed" : "connection closed"));
  }
}

export interface Http1ClientOptions {
  /** At most this many connections to the origin (default 256, as the Agent it replaces). */
  maxSockets?: number;
  /** An idle connection is closed after this long (default 30 s). */
  keepAliveMs?: number;
}

/** Keep-alive connections to one origin (`http://host:port`). */
export class Http1Client {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly maxSockets: number;
  private readonly keepAliveMs: number;
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly waiting: Call[] = [];
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(origin: string, opts: Http1ClientOptions = {}) {
    const u = new URL(origin);
    if (u.protocol !== "http:") throw new Error(`Http1Client speaks plain http only, not ${u.protocol}`);
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
    this.maxSockets = opts.maxSockets ?? 256;
    this.keepAliveMs = opts.keepAliveMs ?? 30_000;
  }

  /** Connections open now (busy or idle). */
  get connections(): number {
    return this.all.size;
  }

  /**
   * POST `body` to `path` with these header lines (each `name: value\r\n`, values checked by the
   * caller with `plainHeaderValue`); the answer whole, or an error (Http1Timeout after `timeoutMs`).
   */
  post(path: string, headerLines: string, body: string, timeoutMs: number): Promise<Http1Answer> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Http1Error("client closed"));
      const head = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n${headerLines}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const call: Call = { head, deadline: performance.now() + timeoutMs, resolve, reject };
      const conn = this.take();
      if (conn) conn.send(call);
      else this.waiting.push(call);
      this.sweep ??= setInterval(() => this.expire(), 100).unref();
    });
  }

  /** An idle connection still good to use, or a new one while under `maxSockets`. */
  private take(): Connection | undefined {
    const now = performance.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.expires > now && !c.socket.destroyed) return c;
      this.drop(c);
    }
    if (this.all.size >= this.maxSockets) return undefined;
    const conn = new Connection(net.connect({ host: this.host, port: this.port, noDelay: true }), this);
    this.all.add(conn);
    return conn;
  }

  /** A connection whose answer is complete: the next waiting call, or idle until it expires. */
  release(conn: Connection, serverKeepAliveMs: number): void {
    const next = this.waiting.shift();
    if (next) return conn.send(next);
    conn.expires = performance.now() + Math.min(this.keepAliveMs, serverKeepAliveMs);
    conn.socket.unref();
    this.idle.push(conn);
  }

  drop(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.socket.destroy();
    // a freed slot: a waiting call gets a new connection
    const next = this.waiting.length ? this.take() : undefined;
    const call = next && this.waiting.shift();
    if (next && call) next.send(call);
  }

  /** Fails calls past their deadline (checked every 100 ms), closes expired idle connections. */
  private expire(): void {
    const now = performance.now();
    for (const c of [...this.all]) {
      if (c.call && c.call.deadline <= now) c.fail(new Http1Timeout("timed out"));
      else if (!c.call && c.expires <= now) this.drop(c);
    }
    const late = this.waiting.filter((call) => call.deadline <= now);
    if (late.length) {
      this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((call) => call.deadline > now));
      for (const call of late) call.reject(new Http1Timeout("timed out"));
    }
    if (this.all.size === 0 && this.waiting.length === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  /** Closes every connection; calls in flight or waiting fail. */
  close(): void {
    this.closed = true;
    for (const call of this.waiting.splice(0)) call.reject(new Http1Error("client closed"));
    for (const c of [...this.all]) c.fail(new Http1Error("client closed"));
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
  }
}
