/**
 * Redis cache of the static part of product views (titles, images, brand, attributes, SKU codes,
 * prices and sale attributes). Live data — status, on-shelf time, sales, stock — is never cached.
 *
 * Consistency: one version counter per SPU; every write that changes the static part bumps it
 * inside its transaction and again after commit, and a loader stores what it loaded only if the
 * version did not move meanwhile (setIfVersion-cache.lua). So no reader sees a stale product after a
 * write has committed.
 */
import { defineLua } from "@mallgraph/platform/redis";
import type { Deps } from "./deps.ts";

const TTL_SECONDS = 3600;

export class VersionedCache<T> {
  private setIfVersion;
  constructor(
    private d: Deps,
    private name: string,
    private load: (ids: string[]) => Promise<Array<T | null>>,
    private revive: (json: string) => T = (j) => JSON.parse(j) as T,
  ) {
    this.setIfVersion = defineLua<[string, string, string, string, number], number>(d.redis, "catalogSetIfVersion", new URL("../lua/setIfVersion-cache.lua", import.meta.url), 2);
  }

  private versionKey(id: string) {
    return this.d.keys(this.name, id, "v");
  }
  private dataKey(id: string, v: string) {
    return this.d.keys(this.name, id, "d", v);
  }

  async getMany(ids: string[]): Promise<Array<T | null>> {
    if (!ids.length) return [];
    try {
      return await this.getManyCached(ids);
    } catch (e) {
      if (!isRedisError(e)) throw e;
      return this.load(ids); // Redis unavailable: serve from PostgreSQL
    }
  }

  private async getManyCached(ids: string[]): Promise<Array<T | null>> {
    const versions = (await this.d.redis.mget(...ids.map((id) => this.versionKey(id)))).map((v) => v ?? "0");
    const cached = await this.d.redis.mget(...ids.map((id, i) => this.dataKey(id, versions[i]!)));
    const out: Array<T | null> = cached.map((c) => (c ? this.revive(c) : null));
    const missing = ids.map((_id, i) => (cached[i] ? -1 : i)).filter((i) => i >= 0);
    if (missing.length) {
      const loaded = await this.load(missing.map((i) => ids[i]!));
      await Promise.all(
        missing.map(async (i, j) => {
          const v = loaded[j];
          out[i] = v ?? null;
          if (v) await this.setIfVersion(this.versionKey(ids[i]!), this.dataKey(ids[i]!, versions[i]!), versions[i]!, JSON.stringify(v), TTL_SECONDS);
        }),
      );
    }
    return out;
  }

  /** Bumps the versions (call inside the write transaction and again after commit). */
  async invalidate(ids: Iterable<string>): Promise<void> {
    const list = [...new Set(ids)];
    if (!list.length) return;
    const m = this.d.redis.multi();
    for (const id of list) m.incr(this.versionKey(id));
    await m.exec();
  }
}

function isRedisError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? "";
  const msg = (e as { message?: string })?.message ?? "";
  return name === "ReplyError" || name === "MaxRetriesPerRequestError" || /redis|ECONNREFUSED|Connection is closed/i.test(msg);
}
