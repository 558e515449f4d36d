/**
 * Back-office category tree (3 levels) and its Redis cache.
 *
 * Cache consistency: the tree is stored under a version (`categoryTree:v:<n>`). Every write bumps
 * the version inside its transaction (before commit) and again after commit; a loader stores what
 * it loaded only if the version did not move while it loaded (Lua, setIfVersion-tree.lua). So a
 * reader never sees a tree older than the last committed write.
 * Stampede: concurrent cold reads in one process share one promise; across processes one loader
 * takes a short Redis lock and the others wait for its result.
 */
import { randomUUID } from "node:crypto";
import { defined } from "@mallgraph/platform/errors";
import { defineLua, lockReleaser } from "@mallgraph/platform/redis";
import { Reason, assertText, conflict, notFound, refuse } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { lockTree, sleep, type Deps, type Tx } from "./deps.ts";

export const MAX_LEVEL = 3;

/** Row locks on categories (in id order) for a delete or a level change. */
async function lockRows(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length) await tx.$queryRaw`SELECT "id" FROM "Category" WHERE "id" IN (${Prisma.join([...ids].sort())}) ORDER BY "id" FOR UPDATE`;
}
const TREE_TTL_SECONDS = 3600;
const LOCK_MS = 5000;

export interface CategoryNode {
  id: string;
  name: string;
  level: number;
  sort: number;
  parentId: string | null;
  children: CategoryNode[];
}

export interface CategoryInput {
  name: string;
  parentId?: string | null;
  sort?: number | null;
}

export interface CategoryUpdate {
  name?: string | null;
  parentId?: string | null;
  toRoot?: boolean | null;
  sort?: number | null;
}

type Row = { id: string; parentId: string | null; name: string; level: number; sort: number };

export function buildTree(rows: Row[]): CategoryNode[] {
  const nodes = new Map<string, CategoryNode>();
  for (const r of rows) nodes.set(r.id, { id: r.id, name: r.name, level: r.level, sort: r.sort, parentId: r.parentId, children: [] });
  const roots: CategoryNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.parentId ? nodes.get(n.parentId) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  const order = (a: CategoryNode, b: CategoryNode) => a.sort - b.sort || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const sortAll = (list: CategoryNode[]) => {
    list.sort(order);
    for (const n of list) sortAll(n.children);
  };
  sortAll(roots);
  return roots;
}

export class CategoryService {
  /** Number of tree loads from PostgreSQL by this instance (tests prove single-flight with it). */
  dbLoads = 0;
  private inflight = new Map<string, Promise<CategoryNode[]>>();
  private setIfVersion;
  private releaseLock;

  constructor(private d: Deps) {
    this.setIfVersion = defineLua<[string, string, string, string, number], number>(
      d.redis,
      "catalogSetIfVersion",
      new URL("../lua/setIfVersion-cache.lua", import.meta.url),
      2,
    );
    this.releaseLock = lockReleaser(d.redis);
  }

  /** The tree's version counter (product views are tagged with it, products.ts). */
  versionKey() {
    return this.d.keys("categoryTree", "version");
  }
  private treeKey(v: string) {
    return this.d.keys("categoryTree", "v", v);
  }

  /** Invalidates the cached tree (call inside the write transaction and again after commit). */
  async bumpVersion(): Promise<void> {
    await this.d.redis.incr(this.versionKey());
  }

  /** The last tree this process read, by version (saves fetching and parsing it again). */
  private memo: { version: string; tree: CategoryNode[] } | undefined;

  /** The whole tree, from the cache when warm. Callers must not mutate it. */
  async tree(): Promise<CategoryNode[]> {
    return this.treeAt((await this.d.redis.get(this.versionKey())) ?? "0");
  }

  /** The tree at a version the caller read from `versionKey()` (before loading anything). */
  async treeAt(version: string): Promise<CategoryNode[]> {
    if (this.memo?.version === version) return this.memo.tree;
    const cached = await this.d.redis.get(this.treeKey(version));
    if (cached) {
      const tree = JSON.parse(cached) as CategoryNode[];
      this.memo = { version, tree };
      return tree;
    }
    let p = this.inflight.get(version);
    if (!p) {
      p = this.loadShared(version).finally(() => this.inflight.delete(version));
      this.inflight.set(version, p);
    }
    return p;
  }

  private async loadShared(version: string): Promise<CategoryNode[]> {
    const lockKey = this.d.keys("categoryTree", "lock", version);
    const token = randomUUID();
    const deadline = Date.now() + LOCK_MS;
    while (Date.now() < deadline) {
      if (await this.d.redis.set(lockKey, token, "PX", LOCK_MS, "NX")) {
        try {
          const again = await this.d.redis.get(this.treeKey(version));
          if (again) return JSON.parse(again) as CategoryNode[];
          const tree = await this.loadFromDb();
          await this.setIfVersion(this.versionKey(), this.treeKey(version), version, JSON.stringify(tree), TREE_TTL_SECONDS);
          return tree;
        } finally {
          await this.releaseLock(lockKey, token);
        }
      }
      await sleep(15);
      const cached = await this.d.redis.get(this.treeKey(version));
      if (cached) return JSON.parse(cached) as CategoryNode[];
      // A write moved the version on: the loader of that old version stores nothing; start over.
      if (((await this.d.redis.get(this.versionKey())) ?? "0") !== version) return this.tree();
    }
    return this.loadFromDb(); // the lock holder died: load without the cache
  }

  /** The tree from PostgreSQL, no cache (for when Redis is unavailable). */
  async treeFromDb(): Promise<CategoryNode[]> {
    return this.loadFromDb();
  }

  private async loadFromDb(): Promise<CategoryNode[]> {
    this.dbLoads++;
    const rows = await this.d.prisma.category.findMany({ select: { id: true, parentId: true, name: true, level: true, sort: true } });
    return buildTree(rows);
  }

  async get(id: string): Promise<CategoryNode | null> {
    const find = (list: CategoryNode[]): CategoryNode | null => {
      for (const n of list) {
        if (n.id === id) return n;
        const c = find(n.children);
        if (c) return c;
      }
      return null;
    };
    return find(await this.tree());
  }

  /** Runs a tree write: serialized, the cache version bumped before and after commit. */
  private async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.d.prisma.$transaction(async (tx) => {
      await lockTree(tx);
      const r = await fn(tx);
      await this.bumpVersion();
      return r;
    });
    await this.bumpVersion();
    return result;
  }

  async create(input: CategoryInput): Promise<CategoryNode> {
    const name = assertText(input.name, "name", 100);
    const row = await this.write(async (tx) => {
      let level = 1;
      if (input.parentId) {
        const parent = await tx.category.findUnique({ where: { id: input.parentId } });
        if (!parent) throw notFound("category", input.parentId);
        level = parent.level + 1;
        if (level > MAX_LEVEL) throw refuse(Reason.CATEGORY_TOO_DEEP, `categories have at most ${MAX_LEVEL} levels`);
      }
      return tx.category.create({ data: { name, parentId: input.parentId ?? null, level, sort: input.sort ?? 0 } });
    });
    return { id: row.id, name: row.name, level: row.level, sort: row.sort, parentId: row.parentId, children: [] };
  }

  async update(id: string, input: CategoryUpdate): Promise<CategoryNode> {
    const name = input.name == null ? undefined : assertText(input.name, "name", 100);
    await this.write(async (tx) => {
      const all = await tx.category.findMany({ select: { id: true, parentId: true, level: true } });
      const self = all.find((c) => c.id === id);
      if (!self) throw notFound("category", id);
      const moving = input.toRoot || (input.parentId != null && input.parentId !== self.parentId);
      if (moving) {
        const newParentId = input.toRoot ? null : defined(input.parentId, "the new parent of a moved category");
        const children = new Map<string, string[]>();
        for (const c of all) if (c.parentId) children.set(c.parentId, [...(children.get(c.parentId) ?? []), c.id]);
        const subtree: string[] = [];
        const height = (n: string): number => {
          subtree.push(n);
          return Math.max(0, ...(children.get(n) ?? []).map((c) => 1 + height(c)));
        };
        const h = height(id);
        let newLevel = 1;
        if (newParentId) {
          const parent = all.find((c) => c.id === newParentId);
          if (!parent) throw notFound("category", newParentId);
          if (subtree.includes(newParentId)) throw refuse(Reason.CATEGORY_CYCLE, "a category cannot move under itself or its descendants");
          newLevel = parent.level + 1;
        }
        if (newLevel + h > MAX_LEVEL) throw refuse(Reason.CATEGORY_TOO_DEEP, `categories have at most ${MAX_LEVEL} levels`);
        const delta = newLevel - self.level;
        if (delta !== 0) {
          // lock the subtree first: a product (brand, attribute) being attached holds its category FOR SHARE
          await lockRows(tx, subtree);
          // Products, brands and attributes hang on level-3 categories: such a subtree keeps its levels.
          const used = await this.inUse(tx, subtree);
          if (used) throw conflict(Reason.CATEGORY_IN_USE, "a category with products, brands or attributes cannot change level");
          await tx.category.updateMany({ where: { id: { in: subtree } }, data: { level: { increment: delta } } });
        }
        await tx.category.update({ where: { id }, data: { parentId: newParentId } });
      }
      if (name !== undefined || input.sort != null)
        await tx.category.update({ where: { id }, data: { name, sort: input.sort ?? undefined } });
    });
    const row = await this.d.prisma.category.findUniqueOrThrow({ where: { id } });
    return { id: row.id, name: row.name, level: row.level, sort: row.sort, parentId: row.parentId, children: [] };
  }

  private async inUse(tx: Tx, ids: string[]): Promise<boolean> {
    const [spus, brands, attrs] = await Promise.all([
      tx.spu.count({ where: { categoryId: { in: ids } } }),
      tx.categoryBrand.count({ where: { categoryId: { in: ids } } }),
      tx.attribute.count({ where: { categoryId: { in: ids } } }),
    ]);
    return spus + brands + attrs > 0;
  }

  async delete(id: string): Promise<boolean> {
    await this.write(async (tx) => {
      await lockRows(tx, [id]); // waits for products being created in it; the counts below then see them
      const self = await tx.category.findUnique({ where: { id } });
      if (!self) throw notFound("category", id);
      if (await tx.category.count({ where: { parentId: id } }))
        throw conflict(Reason.CATEGORY_HAS_CHILDREN, "delete or move the children first");
      if (await tx.spu.count({ where: { categoryId: id } }))
        throw conflict(Reason.CATEGORY_HAS_PRODUCTS, "the category still has products");
      await tx.categoryBrand.deleteMany({ where: { categoryId: id } });
      await tx.frontCategoryLink.deleteMany({ where: { categoryId: id } });
      await tx.attribute.deleteMany({ where: { categoryId: id } });
      await tx.category.delete({ where: { id } });
    });
    return true;
  }

  /**
   * Internal (promotion's pricing and scope checks): each SPU's category path, leaf first — so "a
   * category with its descendants" is a membership test — and the currencies of its SKUs; null for
   * unknown SPUs. One SQL statement plus the cached tree.
   */
  async spuScopes(spuIds: readonly string[]): Promise<Array<{ spuId: string; categoryIds: string[]; currencies: string[] } | null>> {
    if (spuIds.length > 500) throw refuse(Reason.BAD_QUANTITY, "at most 500 ids");
    if (!spuIds.length) return [];
    const rows = await this.d.prisma.spu.findMany({
      where: { id: { in: [...new Set(spuIds)] } },
      select: { id: true, categoryId: true, skus: { select: { currency: true } } },
    });
    const parent = new Map<string, string | null>();
    const walk = (nodes: CategoryNode[]) => nodes.forEach((n) => (parent.set(n.id, n.parentId), walk(n.children)));
    walk(await this.tree());
    const byId = new Map(
      rows.map((r) => {
        const path: string[] = [];
        for (let c: string | null | undefined = r.categoryId; c && path.length < 10; c = parent.get(c)) path.push(c);
        return [r.id, { spuId: r.id, categoryIds: path, currencies: [...new Set(r.skus.map((k) => k.currency))].sort() }];
      }),
    );
    return spuIds.map((id) => byId.get(id) ?? null);
  }

  /** A level-3 category (products, brands and attributes attach there); throws otherwise. */
  async requireLeaf(tx: Tx | Deps["prisma"], id: string) {
    // FOR SHARE (inside the caller's transaction): a concurrent delete or level change of this
    // category waits for the caller's commit and then sees what was attached, or the caller waits
    // and sees the category gone or moved.
    const rows = await tx.$queryRaw<
      Array<{ id: string; level: number }>
    >`SELECT "id", "level" FROM "Category" WHERE "id" = ${id} FOR SHARE`;
    const c = rows[0];
    if (!c) throw notFound("category", id);
    if (c.level !== MAX_LEVEL) throw refuse(Reason.CATEGORY_NOT_LEAF, `category ${id} is not a level-${MAX_LEVEL} category`);
    return c;
  }
}
