/**
 * Subgraph batches (decision 0048): the gateway sends the forwarded operations it has for one
 * subgraph in the same turn of its event loop as one HTTP request to `POST <subgraph url>/batch`,
 * and the subgraph answers them in one response. Each element carries its own signed identity
 * header and request id and is checked, run and answered exactly as a request of its own to
 * `/graphql` would be; only the HTTP request around them is shared.
 *
 * Request body (JSON): `[{"i": "<x-mg-identity>", "r": "<request id>", "b": {query, operationName, variables}}, …]`.
 * Answer body (`BATCH_CONTENT_TYPE`): one frame per element, written as each element is done (in
 * the order they finish): `<meta bytes> <body bytes>\n<meta><body>` where meta is the JSON
 * `[index, status, {header: value}]` and body the element's answer as a request of its own would
 * have had it; the lengths are UTF-8 bytes, so each body is sliced out without parsing it.
 */

import type http from "node:http";
import { IDENTITY_HEADER } from "./auth.ts";

/** The batch endpoint, next to a subgraph's GraphQL path (`/graphql` → `/graphql/batch`). */
export function batchPath(graphqlPath: string): string {
  return `${graphqlPath.replace(/\/+$/, "")}/batch`;
}

export const BATCH_CONTENT_TYPE = "application/vnd.mallgraph.batch";
/** The most elements one batch may carry (a subgraph refuses more with 400). */
export const MAX_BATCH_ELEMENTS = 64;

export interface BatchElement {
  /** The element's identity header (absent: anonymous, as a request without the header). */
  i?: string;
  /** The request id the gateway gave the operation. */
  r?: string;
  /** The GraphQL request. */
  b: Record<string, unknown>;
}

export interface ElementAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The elements of a batch request's parsed body, or a reason to refuse it (400). */
export function batchElements(json: unknown): BatchElement[] | string {
  if (!Array.isArray(json) || json.length === 0) return "a batch is a non-empty JSON array";
  if (json.length > MAX_BATCH_ELEMENTS) return `a batch carries at most ${MAX_BATCH_ELEMENTS} operations`;
  for (const e of json) {
    if (typeof e !== "object" || e === null || Array.isArray(e)) return "each batch element is an object";
    const { i, r, b } = e as Record<string, unknown>;
    if ((i !== undefined && typeof i !== "string") || (r !== undefined && typeof r !== "string"))
      return "a batch element's i and r are strings";
    if (typeof b !== "object" || b === null || Array.isArray(b)) return "a batch element's b is a GraphQL request object";
  }
  return json as BatchElement[];
}

/** One batch request's body from the elements' identity headers, request ids and request JSON (already serialised). */
export function encodeBatchRequest(elements: ReadonlyArray<{ identity?: string; requestId?: string; body: string }>): string {
  let out = "[";
  elements.forEach((e, n) => {
    if (n) out += ",";
    out += "{";
    if (e.identity !== undefined) out += `"i":${JSON.stringify(e.identity)},`;
    if (e.requestId !== undefined) out += `"r":${JSON.stringify(e.requestId)},`;
    out += `"b":${e.body}}`;
  });
  return `${out}]`;
}

/**
 * A batch element's request as a request of its own would have been: the batch's request with the
 * element's identity header and request id, and without the batch's length (what the context and
 * Apollo read of it).
 */
export function elementRequest(req: http.IncomingMessage, e: BatchElement): http.IncomingMessage {
  const headers: http.IncomingHttpHeaders = { ...req.headers };
  delete headers["content-length"];
  if (e.i !== undefined) headers[IDENTITY_HEADER] = e.i;
  if (e.r !== undefined) headers["x-request-id"] = e.r;
  return Object.create(req, { headers: { value: headers } }) as http.IncomingMessage;
}

/**
 * Answers a batch: every element run at once by `answer`, each one's frame written as soon as it is
 * done (the frames done in one turn of the event loop in one write), so a slow element holds back no other.
 */
export async function streamBatch(
  res: http.ServerResponse,
  elements: readonly BatchElement[],
  answer: (e: BatchElement) => Promise<ElementAnswer>,
): Promise<void> {
  res.writeHead(200, { "content-type": BATCH_CONTENT_TYPE });
  let frames = "";
  let left = elements.length;
  let scheduled = false;
  const write = () => {
    scheduled = false;
    const chunk = frames;
    frames = "";
    if (left === 0) res.end(chunk);
    else res.write(chunk);
  };
  await Promise.all(
    elements.map(async (e, index) => {
      const done = await answer(e); // not `frames += await …`: that reads `frames` before the wait
      frames += encodeBatchFrame(index, done);
      left--;
      if (!scheduled) {
        scheduled = true;
        setImmediate(write);
      }
    }),
  );
}

/** One element's frame of a batch answer: `<meta bytes> <body bytes>\n<meta><body>`, meta `[index, status, headers]`. */
export function encodeBatchFrame(index: number, a: ElementAnswer): string {
  const meta = JSON.stringify([index, a.status, a.headers]);
  return `${Buffer.byteLength(meta)} ${Buffer.byteLength(a.body)}\n${meta}${a.body}`;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * Reads a batch answer's frames as its bytes arrive (the subgraph writes each element's frame when it
 * is done, so a slow element does not hold back the others); `push` returns the frames completed by
 * a chunk. Throws on bytes that are not a frame.
 */
export class BatchAnswerReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Bytes received that are not a whole frame yet. */
  get pending(): number {
    return this.buffered.length;
  }

  push(chunk: Buffer): Array<{ index: number; answer: ElementAnswer }> {
    let buf = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: Array<{ index: number; answer: ElementAnswer }> = [];
    for (;;) {
      const space = buf.indexOf(SPACE);
      const newline = space < 0 ? -1 : buf.indexOf(NEWLINE, space + 1);
      if (newline < 0) {
        if (buf.length > 32) throw new Error("malformed batch answer: no frame header");
        break;
      }
      const metaLength = Number(buf.toString("latin1", 0, space));
      const bodyLength = Number(buf.toString("latin1", space + 1, newline));
      if (!Number.isSafeInteger(metaLength) || !Number.isSafeInteger(bodyLength) || metaLength < 2 || bodyLength < 0)
        throw new Error("malformed batch answer: bad lengths");
      const bodyAt = newline + 1 + metaLength;
      if (buf.length < bodyAt + bodyLength) break;
      const meta: unknown = JSON.parse(buf.toString("utf8", newline + 1, bodyAt));
      if (!Array.isArray(meta) || !Number.isSafeInteger(meta[0]) || typeof meta[1] !== "number" || typeof meta[2] !== "object" || !meta[2])
        throw new Error("malformed batch answer: bad frame meta");
      out.push({
        index: meta[0] as number,
        answer: { status: meta[1], headers: meta[2] as Record<string, string>, body: buf.toString("utf8", bodyAt, bodyAt + bodyLength) },
      });
      buf = buf.subarray(bodyAt + bodyLength);
    }
    this.buffered = buf;
    return out;
  }
}

/** A whole batch answer's elements in their request's order (tests, simple callers); throws when one is missing or cut short. */
export function readBatchAnswer(whole: Buffer, elements: number): ElementAnswer[] {
  const reader = new BatchAnswerReader();
  const answers: ElementAnswer[] = [];
  for (const { index, answer } of reader.push(whole)) answers[index] = answer;
  if (reader.pending) throw new Error("malformed batch answer: cut short");
  for (let i = 0; i < elements; i++) if (!answers[i]) throw new Error(`malformed batch answer: no answer for element ${i}`);
  return answers;
}
