import { createRedis } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrisma } from "../src/index.ts";
import { buildCatalogServices } from "../src/services/index.ts";
import { ADMIN, errorCode, errorReason, member, ok, startHarness, type Harness } from "./helpers.ts";

const CATEGORIES = `query Categories { categories { id name children { id name children { id name } } } }`;
const CREATE = `mutation($input: CategoryInput!) { adminCreateCategory(input: $input) { id name level } }`;
const UPDATE = `mutation($id: ID!, $input: CategoryUpdateInput!) { adminUpdateCategory(id: $id, input: $input) { id level parentId } }`;
const DELETE = `mutation($id: ID!) { adminDeleteCategory(id: $id) }`;

describe("category tree", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const create = async (name: string, parentId?: string) =>
    ok<any>(await h.gql(CREATE, { input: { name, parentId } }, ADMIN)).adminCreateCategory;

  it("builds a 3-level tree that the contract query returns", async () => {
    const a = await create("手机数码 Phones & Digital");
    const b = await create("手机通讯 Mobile", a.id);
    const c = await create("手机 Smartphones", b.id);
    expect(c.level).toBe(3);
    const tree = ok<any>(await h.gql(CATEGORIES)).categories;
    expect(tree).toEqual([{ id: a.id, name: a.name, children: [{ id: b.id, name: b.name, children: [{ id: c.id, name: c.name }] }] }]);
  });

  it("needs the catalog:write permission", async () => {
    expect(errorCode(await h.gql(CREATE, { input: { name: "x" } }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await h.gql(CREATE, { input: { name: "x" } }, member("m1")))).toBe("UNAUTHENTICATED");
    expect(errorCode(await h.gql(CREATE, { input: { name: "x" } }, { kind: "admin", id: "op2", permissions: ["catalog:read"] }))).toBe(
      "FORBIDDEN",
    );
  });

  it("refuses a 4th level, cycles, unknown parents — and writes nothing", async () => {
    const a = await create("A");
    const b = await create("B", a.id);
    const c = await create("C", b.id);
    const before = await h.services.prisma.category.count();
    const deep = await h.gql(CREATE, { input: { name: "D", parentId: c.id } }, ADMIN);
    expect(errorCode(deep)).toBe("BAD_USER_INPUT");
    expect(errorReason(deep)).toBe("CATEGORY_TOO_DEEP");
    const cycle = await h.gql(UPDATE, { id: a.id, input: { parentId: c.id } }, ADMIN);
    expect(errorReason(cycle)).toBe("CATEGORY_CYCLE");
    const self = await h.gql(UPDATE, { id: b.id, input: { parentId: b.id } }, ADMIN);
    expect(errorReason(self)).toBe("CATEGORY_CYCLE");
    expect(errorCode(await h.gql(CREATE, { input: { name: "E", parentId: "nope" } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(UPDATE, { id: "nope", input: { name: "x" } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(CREATE, { input: { name: "  " } }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(await h.services.prisma.category.count()).toBe(before);
    const rows = await h.services.prisma.category.findMany({ where: { id: { in: [a.id, b.id, c.id] } } });
    expect(rows.map((r) => [r.id, r.parentId, r.level]).sort()).toEqual(
      [
        [a.id, null, 1],
        [b.id, a.id, 2],
        [c.id, b.id, 3],
      ].sort(),
    );
  });

  it("moves a subtree and re-levels it; refuses a move that makes it too deep", async () => {
    const x = await create("X");
    const y = await create("Y", x.id);
    const z = await create("Z");
    const z2 = await create("Z2", z.id);
    // Z (with child Z2) under Y would put Z2 at level 4
    expect(errorReason(await h.gql(UPDATE, { id: z.id, input: { parentId: y.id } }, ADMIN))).toBe("CATEGORY_TOO_DEEP");
    // Z under X: Z level 2, Z2 level 3
    expect(ok<any>(await h.gql(UPDATE, { id: z.id, input: { parentId: x.id } }, ADMIN)).adminUpdateCategory).toMatchObject({
      level: 2,
      parentId: x.id,
    });
    expect((await h.services.prisma.category.findUnique({ where: { id: z2.id } }))!.level).toBe(3);
    // and back to the root
    expect(ok<any>(await h.gql(UPDATE, { id: z.id, input: { toRoot: true } }, ADMIN)).adminUpdateCategory).toMatchObject({
      level: 1,
      parentId: null,
    });
    expect((await h.services.prisma.category.findUnique({ where: { id: z2.id } }))!.level).toBe(2);
  });

  it("refuses to delete a category with children or products", async () => {
    const a = await create("Del A");
    const b = await create("Del B", a.id);
    const c = await create("Del C", b.id);
    const withChildren = await h.gql(DELETE, { id: a.id }, ADMIN);
    expect(errorCode(withChildren)).toBe("CONFLICT");
    expect(errorReason(withChildren)).toBe("CATEGORY_HAS_CHILDREN");
    await h.services.products.create({ title: "P", categoryId: c.id });
    expect(errorReason(await h.gql(DELETE, { id: c.id }, ADMIN))).toBe("CATEGORY_HAS_PRODUCTS");
    expect(await h.services.prisma.category.count({ where: { id: { in: [a.id, b.id, c.id] } } })).toBe(3);
    const lone = await create("Lone");
    expect(ok<any>(await h.gql(DELETE, { id: lone.id }, ADMIN)).adminDeleteCategory).toBe(true);
    expect(errorCode(await h.gql(DELETE, { id: lone.id }, ADMIN))).toBe("NOT_FOUND");
  });

  it("a category deleted or moved while products are created in it: one of the two is refused with a clear code", async () => {
    const s = h.services;
    const root = await s.categories.create({ name: "Race root" });
    const other = await s.categories.create({ name: "Race other" });
    const mid = await s.categories.create({ name: "Race mid", parentId: root.id });
    const codes: string[] = [];
    const code = (r: PromiseSettledResult<unknown>) =>
      r.status === "fulfilled"
        ? "OK"
        : ((r.reason as { extensions?: { code?: string } }).extensions?.code ?? `UNCODED: ${String(r.reason)}`);
    for (let i = 0; i < 15; i++) {
      const leaf = await s.categories.create({ name: `Race leaf ${i}`, parentId: mid.id });
      const [del, prod] = await Promise.allSettled([
        s.categories.delete(leaf.id),
        s.products.create({ title: `Race product ${i}`, categoryId: leaf.id }),
      ]);
      codes.push(code(del), code(prod));
      expect([code(del), code(prod)].filter((c) => c === "OK")).toHaveLength(1);
      const leaf2 = await s.categories.create({ name: `Race leaf b${i}`, parentId: mid.id });
      // moving the leaf to level 2 (under another root) races a product created in it
      const [mv, prod2] = await Promise.allSettled([
        s.categories.update(leaf2.id, { parentId: other.id }),
        s.products.create({ title: `Race product b${i}`, categoryId: leaf2.id }),
      ]);
      codes.push(code(mv), code(prod2));
      expect([code(mv), code(prod2)].filter((c) => c === "OK")).toHaveLength(1);
      const row = await s.prisma.category.findUniqueOrThrow({ where: { id: leaf2.id } });
      if (await s.prisma.spu.count({ where: { categoryId: leaf2.id } })) expect(row.level).toBe(3);
    }
    expect(codes.filter((c) => !["OK", "NOT_FOUND", "CONFLICT", "BAD_USER_INPUT"].includes(c))).toEqual([]);
  });

  it("serves the cached tree and never a stale one after a write", async () => {
    const s = h.services.categories;
    await s.tree(); // warm
    const loads = s.dbLoads;
    await s.tree();
    await s.tree();
    expect(s.dbLoads).toBe(loads); // served from Redis
    for (let i = 0; i < 5; i++) {
      const c = await create(`Fresh ${i}`);
      const names = (ok<any>(await h.gql(CATEGORIES)).categories as Array<{ name: string }>).map((n) => n.name);
      expect(names).toContain(`Fresh ${i}`);
      await h.gql(UPDATE, { id: c.id, input: { name: `Renamed ${i}` } }, ADMIN);
      const after = (ok<any>(await h.gql(CATEGORIES)).categories as Array<{ name: string }>).map((n) => n.name);
      expect(after).toContain(`Renamed ${i}`);
      expect(after).not.toContain(`Fresh ${i}`);
      await h.gql(DELETE, { id: c.id }, ADMIN);
      expect((ok<any>(await h.gql(CATEGORIES)).categories as Array<{ id: string }>).map((n) => n.id)).not.toContain(c.id);
    }
  });

  it("a read racing a write never leaves a stale tree cached", async () => {
    const s = h.services.categories;
    for (let i = 0; i < 10; i++) {
      const reads = Array.from({ length: 5 }, () => s.tree());
      const c = await s.create({ name: `Race ${i}` });
      await Promise.all(reads);
      const names = (await s.tree()).map((n) => n.name);
      expect(names).toContain(`Race ${i}`);
      expect(c.level).toBe(1);
    }
  });

  it("cold cache: 200 concurrent reads in 3 'processes' make exactly one database load", async () => {
    // three service instances (as three subgraph processes) sharing PostgreSQL and Redis
    const others = [0, 1].map(() => {
      const prisma = createPrisma({ config: h.config, databaseUrl: h.db.url });
      return buildCatalogServices({ config: h.config, prisma, redis: createRedis(h.config.REDIS_URL) });
    });
    const all = [h.services, ...others];
    await h.services.categories.bumpVersion(); // cold
    const before = all.map((x) => x.categories.dbLoads);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => all[i % 3]!.categories.tree()));
    const loads = all.reduce((n, x, i) => n + x.categories.dbLoads - before[i]!, 0);
    expect(loads).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    for (const o of others) {
      await o.prisma.$disconnect();
      o.redis.disconnect();
    }
  });
});
