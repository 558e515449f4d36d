/**
 * The response cache of the forwarded path (decision 0045). A single-fetch query's answer is the
 * subgraph's answer as it was sent, and the subgraph's `cache-control` header is its whole cache
 * policy (Apollo's cache-control rules: the smallest max-age, PRIVATE when any part is). So the
 * forwarded path caches the answer's bytes under the subgraph request it answered, with the same
 * scopes as the Apollo plugin of the normal pipeline (plugins/responseCache.ts, decision 0023):
 *   - PUBLIC answers are shared by the callers of one identity kind (anonymous, or members): the
 *     kind is part of the key, so a member's answer never reaches an anonymous caller or the reverse;
 *   - PRIVATE answers are kept for one member session only, and never for an anonymous caller;
 *   - no `cache-control`, `no-store` or max-age 0: not cached; answers with errors never reach here.
 * Operators never use it (Forwarding.cached). Entries expire at their max-age; the whole cache is
 * bounded in bytes, the oldest entries leaving first.
 */

export interface CachedAnswer {
  body: string;
  cacheControl: string;
  storedAt: number;
  until: number;
}

export interface CachePolicy {
  maxAge: number;
  scope: "PUBLIC" | "PRIVATE";
}

/** The policy a subgraph's `cache-control` header states, or undefined when the answer may not be cached. */
export function cachePolicy(header: string | null | undefined): CachePolicy | undefined {
  if (!header) return undefined;
  const h = header.toLowerCase();
  if (h.includes("no-store") || h.includes("no-cache")) return undefined;
  const maxAge = Number(/max-age=(\d+)/.exec(h)?.[1] ?? 0);
  if (!(maxAge > 0)) return undefined;
  return { maxAge, scope: h.includes("private") ? "PRIVATE" : "PUBLIC" };
}

/** The key of an answer shared by the callers of one identity kind. */
export const publicKey = (kind: string, request: string) => `p\u0000${kind}\u0000${request}`;
/** The key of an answer kept for one session only. */
export const privateKey = (sessionId: string, request: string) => `s\u0000${sessionId}\u0000${request}`;

export class ForwardCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(key: string, now = Date.now()): CachedAnswer | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit;
    this.drop(key, hit);
    return undefined;
  }

  set(key: string, body: string, cacheControl: string, maxAgeSeconds: number, now = Date.now()): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    const size = sizeOf(key, body);
    if (size > this.maxBytes) return;
    this.entries.set(key, { body, cacheControl, storedAt: now, until: now + maxAgeSeconds * 1000 });
    this.bytes += size;
    // a Map iterates in insertion order: the first entries are the oldest
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(k, e);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, entry: CachedAnswer): void {
    this.entries.delete(key);
    this.bytes -= sizeOf(key, entry.body);
  }
}

/** Bytes an entry holds, near enough (strings are UTF-16 in memory). */
const sizeOf = (key: string, body: string) => 2 * (key.length + body.length) + 64;
