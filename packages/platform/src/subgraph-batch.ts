/**
 * Subgraph batches (decision 0048): the gateway sends the forwarded operations it has for one
 * subgraph in the same turn of its event loop as one HTTP request to `POST <subgraph url>/batch`,
 * and the subgraph answers them in one response. Each element carries its own signed identity
 * header and request id and is checked, run and answered exactly as a request of its own to
 * `/graphql` would be; only the HTTP request around them is shared.
 *
 * Request body (JSON): `[{"i": "<x-mg-identity>", "r": "<request id>", "b": {query, operationName, variables}}, …]`.
 * Answer body (`BATCH_CONTENT_TYPE`): per element, in order, `<meta length> <body length>\n<meta><body>`
 * where meta is the JSON `[status, {header: value}]` and body the element's answer as a request of its
 * own would have had it; lengths count UTF-16 code units (JavaScript string length), so each body is
 * sliced out of the answer without parsing it.
 */

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

export function encodeBatchAnswer(answers: readonly ElementAnswer[]): string {
  let out = "";
  for (const a of answers) {
    const meta = JSON.stringify([a.status, a.headers]);
    out += `${meta.length} ${a.body.length}\n${meta}${a.body}`;
  }
  return out;
}

/** The answers of a batch, in order; throws on an answer that is not well framed. */
export function decodeBatchAnswer(text: string): ElementAnswer[] {
  const out: ElementAnswer[] = [];
  let at = 0;
  while (at < text.length) {
    const space = text.indexOf(" ", at);
    const newline = text.indexOf("\n", space + 1);
    if (space < 0 || newline < 0) throw new Error("malformed batch answer: no element header");
    const metaLength = Number(text.slice(at, space));
    const bodyLength = Number(text.slice(space + 1, newline));
    const metaAt = newline + 1;
    const bodyAt = metaAt + metaLength;
    if (!Number.isSafeInteger(metaLength) || !Number.isSafeInteger(bodyLength) || metaLength < 0 || bodyLength < 0)
      throw new Error("malformed batch answer: bad lengths");
    if (bodyAt + bodyLength > text.length) throw new Error("malformed batch answer: cut short");
    const meta: unknown = JSON.parse(text.slice(metaAt, bodyAt));
    if (!Array.isArray(meta) || typeof meta[0] !== "number" || typeof meta[1] !== "object" || meta[1] === null)
      throw new Error("malformed batch answer: bad element meta");
    out.push({ status: meta[0], headers: meta[1] as Record<string, string>, body: text.slice(bodyAt, bodyAt + bodyLength) });
    at = bodyAt + bodyLength;
  }
  return out;
}
