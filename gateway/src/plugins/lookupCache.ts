/**
 * A short-lived in-process cache in front of a Redis lookup (sessions, partner keys): each answer,
 * found or not, is reused for `ttlMs` (0: never cached); the whole cache is dropped when it holds
 * more than `maxEntries`. Short TTLs keep revocations prompt on every gateway instance.
 */
export interface LookupCache<T> {
  get(key: string): Promise<T | null>;
  /** The answer `get` would reuse right now (found or not), or undefined when it would load it: no promise. */
  peek(key: string): T | null | undefined;
  delete(key: string): void;
}

export function lookupCache<T>(ttlMs: number, maxEntries: number, load: (key: string) => Promise<T | null>): LookupCache<T> {
  const cache = new Map<string, { value: T | null; until: number }>();
  return {
    async get(key) {
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.value;
      const value = await load(key);
      if (ttlMs > 0) {
        if (cache.size > maxEntries) cache.clear();
        cache.set(key, { value, until: now + ttlMs });
      }
      return value;
    },
    peek(key) {
      const hit = cache.get(key);
      return hit && hit.until > Date.now() ? hit.value : undefined;
    },
    delete(key) {
      cache.delete(key);
    },
  };
}
