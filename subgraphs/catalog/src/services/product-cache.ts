/**
 * Caches behind product views, all kept correct by version counters in Redis.
 *
 * - Static part (titles, images, brand, attributes, SKU codes, prices, sale attributes): in Redis
 *   under a per-SPU version (`product:<id>:v`), and in process under the same version.
 * - Live part (status, on-shelf time, sales, stock): a second per-SPU version (`product:<id>:lv`),
 *   bumped after every stock or status change commits (inventory.ts, products.ts).
 * - Whole views in process, tagged with the versions they were built from (category tree, static,
 *   live): a read costs one Redis MGET of the versions and, when nothing moved, no SQL at all.
 *
 * Consistency: every write bumps the versions it affects after it commits (multi-statement
 * transactions also inside, before commit), and every loader reads the versions *before* it loads
 * and files what it loaded under them. A reader that sees a write's bump therefore misses and
 * loads after that commit: no reader sees a stale product once a write has committed and bumped.
 * If a process dies between commit and bump, its change shows after the in-process TTL (60 s for
 * views) at the latest.
 */
import { defined } from "@mallgraph/platform/errors";
import { logger } from "@mallgraph/platform/log";
import { defineLua, isRedisError } from "@mallgraph/platform/redis";
import type { Deps } from "./deps.ts";

const TTL_SECONDS = 3600;
const log = logger("catalog");

/** An in-process map of entries tagged with a version, bounded in size and age. */
export class LocalCache<T> {
  private map = new Map<string, { tag: string; value: T; until: number }>();
  constructor(
    private max: number,
    private ttlMs: number,
  ) {}

  get(id: string, tag: string): T | undefined {
    const e = this.map.get(id);
    if (!e || e.tag !== tag) return undefined;
    if (e.until < Date.now()) {
      this.map.delete(id);
      return undefined;
    }
    return e.value;
  }

  set(id: string, tag: string, value: T): void {
    this.map.delete(id);
    const oldest = this.map.keys().next();
    if (this.map.size >= this.max && !oldest.done) this.map.delete(oldest.value); // oldest first
    this.map.set(id, { tag, value, until: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

export class VersionedCache<T> {
  private setIfVersion;
  /** The same entries in process, by version (saves the Redis GET and the JSON parse). */
  private local = new LocalCache<T>(20_000, 300_000);

  constructor(
    private d: Deps,
    private name: string,
    private load: (ids: string[]) => Promise<Array<T | null>>,
    private revive: (json: string) => T = (j) => JSON.parse(j) as T,
  ) {
    this.setIfVersion = defineLua<[string, string, string, string, number], number>(
      d.redis,
      "catalogSetIfVersion",
      new URL("../lua/setIfVersion-cache.lua", import.meta.url),
      2,
    );
  }

  versionKey(id: string) {
    return this.d.keys(this.name, id, "v");
  }
  private dataKey(id: string, v: string) {
    return this.d.keys(this.name, id, "d", v);
  }

  async getMany(ids: string[]): Promise<Array<T | null>> {
    if (!ids.length) return [];
    try {
      const versions = (await this.d.redis.mget(...ids.map((id) => this.versionKey(id)))).map((v) => v ?? "0");
      return await this.getManyAt(ids, versions);
    } catch (e) {
      if (!isRedisError(e)) throw e;
      return this.load(ids); // Redis unavailable: serve from PostgreSQL
    }
  }

  /** Entries at the versions the caller read (before loading anything) from `versionKey`. */
  async getManyAt(ids: string[], versions: string[]): Promise<Array<T | null>> {
    const keys = ids.map((id, i) => ({ i, id, version: defined(versions[i], `the version of ${id}`) }));
    const out: Array<T | null> = keys.map(({ id, version }) => this.local.get(id, version) ?? null);
    const remote = keys.filter(({ i }) => !out[i]);
    if (!remote.length) return out;
    const cached = await this.d.redis.mget(...remote.map(({ id, version }) => this.dataKey(id, version)));
    const missing: typeof keys = [];
    remote.forEach((k, j) => {
      const c = cached[j];
      if (!c) return missing.push(k);
      const value = this.revive(c);
      out[k.i] = value;
      this.local.set(k.id, k.version, value);
    });
    if (missing.length) {
      const loaded = await this.load(missing.map(({ id }) => id));
      await Promise.all(
        missing.map(async ({ i, id, version }, j) => {
          const v = loaded[j];
          out[i] = v ?? null;
          if (!v) return;
          this.local.set(id, version, v);
          await this.setIfVersion(this.versionKey(id), this.dataKey(id, version), version, JSON.stringify(v), TTL_SECONDS);
        }),
      );
    }
    return out;
  }

  /** Bumps the versions (call inside the write transaction and again after commit). */
  async invalidate(ids: Iterable<string>): Promise<void> {
    await bump(
      this.d,
      [...ids].map((id) => this.versionKey(id)),
    );
  }
}

async function bump(d: Deps, keys: string[]): Promise<void> {
  const list = [...new Set(keys)];
  if (!list.length) return;
  // one key (a direct order's reservation): a plain INCR, not MULTI · INCR · EXEC (three commands)
  const [only] = list;
  if (only !== undefined && list.length === 1) {
    await d.redis.incr(only);
    return;
  }
  const m = d.redis.multi();
  for (const k of list) m.incr(k);
  await m.exec();
}

/** The live-part version of each SPU (status, sales, stock). */
export class LiveVersions {
  constructor(private d: Deps) {}

  key(spuId: string): string {
    return this.d.keys("product", spuId, "lv");
  }

  /** Bumps the live versions; throws when Redis fails (inside a transaction: the write fails too). */
  async bump(spuIds: Iterable<string>): Promise<void> {
    await bump(
      this.d,
      [...spuIds].map((id) => this.key(id)),
    );
  }

  /**
   * Bumps after a commit. The write already happened: a Redis failure is logged, not thrown, and
   * the change shows once the in-process entries expire.
   */
  async bumpAfterCommit(spuIds: Iterable<string>): Promise<void> {
    try {
      await this.bump(spuIds);
    } catch (e) {
      if (!isRedisError(e)) throw e;
      log.warn({ err: e }, "could not bump product live versions; views refresh within their TTL");
    }
  }
}
