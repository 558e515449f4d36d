/**
 * The gateway's HTTP client for subgraphs (undici): one keep-alive Agent for every subgraph
 * (connections opened once and reused, no Nagle), requests sent and answers read through dispatch
 * handlers without WHATWG/node-fetch Request and Response objects — a single call's answer read whole
 * (`post`), a batch's answers handed on frame by frame as they arrive (`postBatch`, decision 0048; its dispatch
 * handler is @mallgraph/platform/subgraph-batch-http, shared with the service client).
 * The data source (datasource.ts) adds identity, breaker, metrics and batching on top.
 */
import type { ElementAnswer } from "@mallgraph/platform/subgraph-batch";
import {
  postBatch as postBatchOn,
  rawHeader,
  SubgraphTimeout,
  timedOut,
  type BatchExchange,
} from "@mallgraph/platform/subgraph-batch-http";
import { Agent, type Dispatcher } from "undici";

export { SubgraphTimeout, type BatchExchange };

const dispatcher = new Agent({
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  connections: 256,
  pipelining: 1,
  connect: { noDelay: true },
});

/** What the data source reads of a subgraph's answer (a subset of a fetch Response). */
export interface SubgraphAnswer {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  /** The whole body, already read (what `text()` resolves to), for the forwarded path to use without a promise. */
  body: string;
}

/** What every answer shares: the fetch-like methods the data source reads. */
abstract class AnswerBase implements SubgraphAnswer {
  readonly statusText = "";
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: string,
  ) {}
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get headers(): SubgraphAnswer["headers"] {
    return this;
  }
  abstract get(name: string): string | null;
  async json(): Promise<unknown> {
    return JSON.parse(this.body);
  }
  async text(): Promise<string> {
    return this.body;
  }
}

/**
 * A subgraph's answer: the raw header list as undici hands it to a dispatch handler (name, value,
 * name, value… as Buffers) is looked up by name when asked (the forwarded path asks for two), never
 * parsed into an object; one object per answer (its own `headers`), methods on the prototype.
 */
class Answer extends AnswerBase {
  constructor(
    status: number,
    url: string,
    private readonly raw: readonly Buffer[],
    body: string,
  ) {
    super(status, url, body);
  }
  get(name: string): string | null {
    return rawHeader(this.raw, name);
  }
}

/** One element's answer out of a batch (its headers a plain object, names in lower case). */
export class BatchedAnswer extends AnswerBase {
  constructor(
    url: string,
    private readonly element: ElementAnswer,
  ) {
    super(element.status, url, element.body);
  }
  get(name: string): string | null {
    return this.element.headers[name.toLowerCase()] ?? null;
  }
}

/**
 * One subgraph call as an undici dispatch handler: the answer's bytes are gathered as they arrive
 * and the call settles once with status, raw headers and the whole body. `dispatcher.request`
 * wraps the same call in a parsed header object and a Readable body stream read back with
 * `.text()` (in the first seckill profile, node:streams and undici's header parsing were about a
 * tenth of the gateway's busy CPU: bench/RESULTS.md, decision 0041).
 */
class Call implements Dispatcher.DispatchHandler {
  private status = 0;
  private raw: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  constructor(
    private readonly target: { url: string },
    private readonly timeoutMs: number,
    private readonly resolve: (a: SubgraphAnswer) => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  onConnect(): void {}
  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    this.raw = rawHeaders;
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  onComplete(): void {
    const c = this.chunks;
    const first = c[0];
    const text = c.length === 1 && first ? first.toString("utf8") : Buffer.concat(c).toString("utf8");
    this.resolve(new Answer(this.status, this.target.url, this.raw, text));
  }
  onError(e: Error): void {
    this.reject(timedOut(e) ? new SubgraphTimeout(`timed out after ${this.timeoutMs} ms`) : e);
  }
}

/** POST on a keep-alive connection; the body is read whole. Times out after `timeoutMs` without headers or body bytes. */
export function post(
  target: { url: string; origin: string; path: string },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SubgraphAnswer> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(
      { origin: target.origin, path: target.path, method: "POST", headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      new Call(target, timeoutMs, resolve, reject),
    );
  });
}

/** POSTs one batch on the gateway's keep-alive connections (decision 0048). */
export function postBatch(
  target: { origin: string; path: string },
  body: string,
  timeoutMs: number,
  onElement: (index: number, a: ElementAnswer) => boolean,
): Promise<BatchExchange> {
  return postBatchOn(dispatcher, target, body, timeoutMs, onElement);
}
