/**
 * A subgraph batch (decision 0048) over undici: one exchange as a dispatch handler that hands each
 * element's frame on as it arrives. Shared by the gateway's data source (forwarded operations) and
 * the service client (service-to-service calls, decision 0053); each brings its own keep-alive Agent
 * and gathers the requests of one event-loop turn with a TurnQueue.
 */
import { errors as undiciErrors, type Dispatcher } from "undici";
import { BATCH_CONTENT_TYPE, BatchAnswerReader, MAX_BATCH_ELEMENTS, type ElementAnswer } from "./subgraph-batch.ts";

const BATCH_HEADERS = { "content-type": "application/json" };

export class SubgraphTimeout extends Error {}

/** A header's value in undici's raw list (name, value, name, value… as Buffers); repeated ones joined. */
export function rawHeader(raw: readonly Buffer[], name: string): string | null {
  const wanted = name.toLowerCase();
  let found: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i];
    const value = raw[i + 1];
    if (!key || !value || key.length !== wanted.length || key.toString("latin1").toLowerCase() !== wanted) continue;
    const v = value.toString("latin1");
    found = found === null ? v : `${found}, ${v}`;
  }
  return found;
}

/** undici's own time-outs (no headers, or a pause in the body, for too long). */
export const timedOut = (e: unknown) => e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError;

/** What a batch exchange came to: its status, whether the answer was a batch, how many elements it answered (and with a 5xx). */
export interface BatchExchange {
  status: number;
  batch: boolean;
  answered: number;
  failedElements: number;
}

/**
 * One batch as an undici dispatch handler: each element's frame is handed on as it arrives
 * (`onElement`: true when it answered a waiting element), and the exchange settles when the answer
 * ends. The exchange has one time-out from its start, so no element waits longer than a call of its
 * own would.
 */
class BatchCall implements Dispatcher.DispatchHandler {
  private status = 0;
  private batch = false;
  private answered = 0;
  private failedElements = 0;
  private readonly reader = new BatchAnswerReader();
  private abort: ((e: Error) => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly timeoutMs: number,
    private readonly onElement: (index: number, a: ElementAnswer) => boolean,
    private readonly resolve: (x: BatchExchange) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.timer = setTimeout(() => this.abort?.(new SubgraphTimeout(`timed out after ${timeoutMs} ms`)), timeoutMs);
  }
  onConnect(abort: (e?: Error) => void): void {
    this.abort = abort;
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    this.batch = statusCode === 200 && rawHeader(rawHeaders, "content-type") === BATCH_CONTENT_TYPE;
    return true;
  }
  onData(chunk: Buffer): boolean {
    if (!this.batch) return true;
    // a malformed frame throws: undici aborts the exchange with it (onError)
    for (const { index, answer } of this.reader.push(chunk))
      if (this.onElement(index, answer)) {
        this.answered++;
        if (answer.status >= 500) this.failedElements++;
      }
    return true;
  }
  onComplete(): void {
    clearTimeout(this.timer);
    this.resolve({ status: this.status, batch: this.batch, answered: this.answered, failedElements: this.failedElements });
  }
  onError(e: Error): void {
    clearTimeout(this.timer);
    this.reject(timedOut(e) ? new SubgraphTimeout(`timed out after ${this.timeoutMs} ms`) : e);
  }
}

/** POSTs one batch (its JSON body from encodeBatchRequest) and hands each element's answer to `onElement` as its frame arrives. */
export function postBatch(
  dispatcher: Dispatcher,
  target: { origin: string; path: string },
  body: string,
  timeoutMs: number,
  onElement: (index: number, a: ElementAnswer) => boolean,
): Promise<BatchExchange> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(
      {
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers: BATCH_HEADERS,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      new BatchCall(timeoutMs, onElement, resolve, reject),
    );
  });
}

/** A subgraph without the batch endpoint (an older release, another server) gets single requests for this long before batching is tried again. */
const UNSUPPORTED_RETRY_MS = 60_000;
/** The request JSON one batch carries at most (characters); a request that would pass it goes in the next batch. */
const MAX_BATCH_CHARS = 512 * 1024;

/** A request waiting for the end of this event-loop turn: its identity header, request id and GraphQL request JSON. */
export interface QueuedRequest {
  identity: string;
  requestId: string;
  body: string;
}

/**
 * The requests of one event-loop turn to one subgraph, gathered for one batch: sent at `setImmediate`
 * (after the poll phase that brought them, so nothing waits for a batch to fill), or at once when the
 * batch is full — MAX_BATCH_ELEMENTS requests, or 512 K characters of request JSON (well under a
 * subgraph's 2 MB request limit at up to 3 bytes a character). `send` gets them with `asBatch` false
 * for a lone request, and while the subgraph is marked `unsupported` (for a minute).
 */
export class TurnQueue<T extends QueuedRequest> {
  private queue: T[] = [];
  private chars = 0;
  private refusedUntil = 0;

  constructor(private readonly send: (requests: T[], asBatch: boolean) => void) {}

  push(r: T): void {
    if (this.queue.length && this.chars + r.body.length > MAX_BATCH_CHARS) this.flush();
    this.queue.push(r);
    this.chars += r.body.length;
    if (this.queue.length === 1) setImmediate(this.flush);
    else if (this.queue.length >= MAX_BATCH_ELEMENTS) this.flush();
  }

  /** The subgraph answered a batch 404/405 (nothing ran): single requests for a minute. */
  unsupported(): void {
    this.refusedUntil = performance.now() + UNSUPPORTED_RETRY_MS;
  }

  private readonly flush = (): void => {
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.chars = 0;
    this.send(q, q.length > 1 && performance.now() >= this.refusedUntil);
  };
}
