import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drainOutbox, drainOnce, pendingOutbox } from "../src/search/outbox.ts";
import type { SearchBackend } from "../src/search/types.ts";
import { startWorkers } from "../src/worker.ts";
import { errorCode, ok, startHarness, type Harness } from "./helpers.ts";

const SEARCH = `query SearchProducts($query: ProductSearchInput!) {
  searchProducts(query: $query) {
    total
    items { spuId title minPrice currency inStock brandName defaultImage }
    facets { brands { id name count } attributes { id name values { id value count } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe("search (PostgreSQL backend) and the outbox", () => {
  let h: Harness;
  const ids: Record<string, string> = {};
  const vals: Record<string, string> = {};
  const brands: Record<string, string> = {};
  let phonesRoot: string;
  const drain = () =>
    drainOutbox({ prisma: h.services.prisma, redis: h.services.redis, keys: h.services.deps.keys, backend: h.services.search.backend });
  const search = async (query: Record<string, unknown>) => ok<any>(await h.gql(SEARCH, { query })).searchProducts;
  const spuIds = (r: any) => r.items.map((i: any) => i.spuId).sort();

  beforeAll(async () => {
    h = await startHarness();
    const s = h.services;
    const root = await s.categories.create({ name: "手机数码 Phones & Digital" });
    phonesRoot = root.id;
    const mid = await s.categories.create({ name: "手机通讯 Mobile", parentId: root.id });
    const phones = await s.categories.create({ name: "手机 Smartphones", parentId: mid.id });
    const pc = await s.categories.create({ name: "电脑办公 Computers" });
    const pcMid = await s.categories.create({ name: "电脑整机 PCs", parentId: pc.id });
    const laptops = await s.categories.create({ name: "笔记本 Laptops", parentId: pcMid.id });
    for (const [k, n] of [
      ["huawei", "华为 Huawei"],
      ["xiaomi", "小米 Xiaomi"],
      ["apple", "苹果 Apple"],
      ["lenovo", "联想 Lenovo"],
    ] as const)
      brands[k] = (
        await s.taxonomy.createBrand({
          name: n,
          logo: `https://img.example/${k}.png`,
          categoryIds: [k === "lenovo" ? laptops.id : phones.id],
        })
      ).id;
    const colour = await s.taxonomy.createAttribute({
      categoryId: phones.id,
      name: "颜色 Colour",
      kind: "SALE",
      searchable: true,
      values: ["黑色 Black", "银色 Silver"],
    });
    const storage = await s.taxonomy.createAttribute({
      categoryId: phones.id,
      name: "存储 Storage",
      kind: "SALE",
      searchable: true,
      values: ["256GB", "512GB"],
    });
    vals.black = colour.values[0]!.id;
    vals.silver = colour.values[1]!.id;
    vals.s256 = storage.values[0]!.id;
    vals.s512 = storage.values[1]!.id;
    const mk = async (key: string, title: string, categoryId: string, brandId: string, skus: Array<[string, string[], number]>) => {
      const p = await s.products.create({
        title,
        categoryId,
        brandId,
        images: [`https://img.example/${key}.jpg`],
        skus: skus.map(([price, v, stock], i) => ({
          code: `${key}-${i}`,
          title: `${title} ${i}`,
          price,
          currency: "CNY",
          saleAttributeValueIds: v,
          initialStock: stock,
        })),
      });
      await s.products.putOnShelf(p.id);
      ids[key] = p.id;
    };
    await mk("mate", "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone", phones.id, brands.huawei!, [
      ["6999.00", [vals.black!, vals.s256!], 5],
      ["7999.00", [vals.silver!, vals.s512!], 5],
    ]);
    await mk("nova", "华为 nova 12 手机 Huawei nova 12 Phone", phones.id, brands.huawei!, [["2999.00", [vals.black!, vals.s256!], 5]]);
    await mk("mi", "小米 14 Ultra 智能手机 Xiaomi 14 Ultra Smartphone", phones.id, brands.xiaomi!, [
      ["5999.00", [vals.silver!, vals.s512!], 5],
    ]);
    await mk("iphone", "Apple iPhone 15 Pro 苹果手机", phones.id, brands.apple!, [["8999.00", [vals.black!, vals.s256!], 0]]);
    await mk("thinkpad", "联想 ThinkPad X1 笔记本电脑 Lenovo ThinkPad X1 Laptop", laptops.id, brands.lenovo!, [["9999.50", [], 2]]);
    await s.products.create({
      title: "华为 草稿 Draft phone",
      categoryId: phones.id,
      skus: [{ code: "draft-0", title: "d", price: "1.00", currency: "CNY" }],
    });
    await drain();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("indexes one document per SPU on shelf (the contract query)", async () => {
    const r = await search({});
    expect(r.total).toBe(5);
    const mate = r.items.find((i: any) => i.spuId === ids.mate);
    expect(mate).toEqual({
      spuId: ids.mate,
      title: "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone",
      minPrice: "6999.00",
      currency: "CNY",
      inStock: true,
      brandName: "华为 Huawei",
      defaultImage: "https://img.example/mate.jpg",
    });
    expect(r.items.find((i: any) => i.spuId === ids.iphone).inStock).toBe(false);
    expect(r.items.find((i: any) => i.spuId === ids.thinkpad).minPrice).toBe("9999.50");
  });

  it("keyword: Chinese and English, substrings and English word forms", async () => {
    expect(spuIds(await search({ keyword: "华为手机" }))).toEqual([ids.mate, ids.nova].sort());
    expect(spuIds(await search({ keyword: "智能手机" }))).toEqual([ids.mate, ids.mi].sort());
    expect(spuIds(await search({ keyword: "smartphones" }))).toEqual([ids.mate, ids.mi].sort());
    expect(spuIds(await search({ keyword: "IPHONE" }))).toEqual([ids.iphone]);
    expect(spuIds(await search({ keyword: "笔记本" }))).toEqual([ids.thinkpad]);
    expect((await search({ keyword: "冰箱" })).total).toBe(0);
    expect((await search({ keyword: "100%_" })).total).toBe(0);
    // relevance: the closer title first
    expect((await search({ keyword: "华为 nova 12" })).items[0].spuId).toBe(ids.nova);
  });

  it("filters: category (expanded to leaves), brands, attributes (OR within, AND across), price range", async () => {
    expect((await search({ categoryId: phonesRoot })).total).toBe(4);
    expect(spuIds(await search({ brandIds: [brands.huawei] }))).toEqual([ids.mate, ids.nova].sort());
    expect(spuIds(await search({ attributeValueIds: [vals.silver] }))).toEqual([ids.mate, ids.mi].sort());
    expect((await search({ attributeValueIds: [vals.silver, vals.black] })).total).toBe(4);
    expect(spuIds(await search({ attributeValueIds: [vals.black, vals.s512] }))).toEqual([ids.mate]);
    expect((await search({ attributeValueIds: ["nope"] })).total).toBe(0);
    expect(spuIds(await search({ minPrice: "3000", maxPrice: "7000" }))).toEqual([ids.mate, ids.mi].sort());
    expect(spuIds(await search({ keyword: "手机", brandIds: [brands.huawei, brands.xiaomi], minPrice: "5000" }))).toEqual(
      [ids.mate, ids.mi].sort(),
    );
  });

  it("facets: brand and attribute value counts over the filtered set", async () => {
    const r = await search({ keyword: "手机" });
    expect(r.facets.brands[0]).toEqual({ id: brands.huawei, name: "华为 Huawei", count: 2 });
    expect(r.facets.brands.slice(1)).toEqual(
      expect.arrayContaining([
        { id: brands.apple, name: "苹果 Apple", count: 1 },
        { id: brands.xiaomi, name: "小米 Xiaomi", count: 1 },
      ]),
    );
    expect(r.facets.brands).toHaveLength(3);
    const colour = r.facets.attributes.find((a: any) => a.name === "颜色 Colour");
    expect(colour.values).toEqual([
      { id: vals.black, value: "黑色 Black", count: 3 },
      { id: vals.silver, value: "银色 Silver", count: 2 },
    ]);
    const storage = r.facets.attributes.find((a: any) => a.name === "存储 Storage");
    expect(storage.values).toEqual([
      { id: vals.s256, value: "256GB", count: 3 },
      { id: vals.s512, value: "512GB", count: 2 },
    ]);
  });

  it("sorts: price, newest, sales", async () => {
    expect((await search({ sort: "PRICE_ASC" })).items.map((i: any) => i.spuId)).toEqual([
      ids.nova,
      ids.mi,
      ids.mate,
      ids.iphone,
      ids.thinkpad,
    ]);
    expect((await search({ sort: "PRICE_DESC" })).items.map((i: any) => i.spuId)).toEqual([
      ids.thinkpad,
      ids.iphone,
      ids.mate,
      ids.mi,
      ids.nova,
    ]);
    expect((await search({ sort: "NEWEST" })).items[0].spuId).toBe(ids.thinkpad);
    // selling the Xiaomi makes it the top seller once the outbox is drained
    const miSku = (await h.services.prisma.sku.findFirstOrThrow({ where: { spuId: ids.mi } })).id;
    expect((await h.services.inventory.reserve("sale-1", [{ skuId: miSku, quantity: 2 }], 60)).code).toBe("OK");
    await h.services.inventory.confirm("sale-1");
    await drain();
    expect((await search({ sort: "SALES" })).items[0].spuId).toBe(ids.mi);
  });

  it("keyset cursor pagination walks every result once, in every sort", async () => {
    const walk = async (query: Record<string, unknown>) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const r: any = await search({ ...query, first: 2, after });
        seen.push(...r.items.map((i: any) => i.spuId));
        if (!r.pageInfo.hasNextPage) break;
        after = r.pageInfo.endCursor;
      }
      return seen;
    };
    expect(await walk({ sort: "PRICE_ASC" })).toEqual([ids.nova, ids.mi, ids.mate, ids.iphone, ids.thinkpad]);
    for (const sort of ["RELEVANCE", "SALES", "NEWEST", "PRICE_DESC"]) {
      const all = (await search({ sort, first: 50 })).items.map((i: any) => i.spuId);
      expect(await walk({ sort })).toEqual(all);
      const kw = (await search({ sort, keyword: "手机", first: 50 })).items.map((i: any) => i.spuId);
      expect(kw.length).toBe(4);
      expect(await walk({ sort, keyword: "手机" })).toEqual(kw);
    }
    // a page inserted before the cursor does not shift the next page (keyset, not offset)
    const first = await search({ sort: "PRICE_ASC", first: 2 });
    const cheap = await h.services.products.create({
      title: "Cheap phone 便宜手机",
      categoryId: (await h.services.prisma.spu.findUniqueOrThrow({ where: { id: ids.nova! } })).categoryId,
      skus: [{ code: "cheap-1", title: "c", price: "1.00", currency: "CNY", initialStock: 1 }],
    });
    await h.services.products.putOnShelf(cheap.id);
    await drain();
    const second = await search({ sort: "PRICE_ASC", first: 2, after: first.pageInfo.endCursor });
    expect(second.items.map((i: any) => i.spuId)).toEqual([ids.mate, ids.iphone]);
    await h.services.products.takeOffShelf(cheap.id);
    await drain();
    // a cursor of another sort is refused
    expect(errorCode(await h.gql(SEARCH, { query: { sort: "SALES", after: first.pageInfo.endCursor } }))).toBe("BAD_USER_INPUT");
  });

  it("bad input is refused with BAD_USER_INPUT", async () => {
    const bad = async (query: Record<string, unknown>) => errorCode(await h.gql(SEARCH, { query }));
    expect(await bad({ minPrice: "abc" })).toBe("BAD_USER_INPUT");
    expect(await bad({ minPrice: "-1" })).toBe("BAD_USER_INPUT");
    expect(await bad({ minPrice: "10", maxPrice: "5" })).toBe("BAD_USER_INPUT");
    expect(await bad({ first: 0 })).toBe("BAD_USER_INPUT");
    expect(await bad({ first: 1000 })).toBe("BAD_USER_INPUT");
    expect(await bad({ after: "not-a-cursor" })).toBe("BAD_USER_INPUT");
  });

  it("suggestions come from what people searched, most searched first", async () => {
    for (let i = 0; i < 3; i++) await search({ keyword: "华为 Mate" });
    await search({ keyword: "华为 nova" });
    await search({ keyword: "小米" });
    const sug = async (prefix: string, first?: number) =>
      ok<any>(await h.gql(`query($p: String!, $f: Int) { searchSuggestions(prefix: $p, first: $f) }`, { p: prefix, f: first }))
        .searchSuggestions;
    const hw = await sug("华为");
    expect(hw[0]).toBe("华为 mate");
    expect(hw).toContain("华为 nova");
    expect(hw).not.toContain("小米");
    expect((await sug("华为 n")).sort()).toEqual(["华为 nova", "华为 nova 12"]); // "华为 nova 12" was searched above
    expect(await sug("华", 1)).toEqual(["华为 mate"]);
    expect(await sug("zzz")).toEqual([]);
  });

  it("the outbox carries shelving, price and stock changes into the index", async () => {
    await h.services.products.takeOffShelf(ids.nova!);
    expect(await pendingOutbox(h.services.prisma)).toBeGreaterThan(0);
    expect(spuIds(await search({ keyword: "nova" }))).toEqual([ids.nova]); // not drained yet
    await drain();
    expect((await search({ keyword: "nova" })).total).toBe(0);
    await h.services.products.putOnShelf(ids.nova!);
    const novaSku = (await h.services.prisma.sku.findFirstOrThrow({ where: { spuId: ids.nova } })).id;
    await h.services.products.updateSku(novaSku, { price: "2499.90" });
    expect((await h.services.inventory.reserve("nova-all", [{ skuId: novaSku, quantity: 5 }], 60)).code).toBe("OK");
    await drain();
    expect(await pendingOutbox(h.services.prisma)).toBe(0);
    const nova = (await search({ keyword: "nova" })).items[0];
    expect(nova).toMatchObject({ spuId: ids.nova, minPrice: "2499.90", inStock: false });
    await h.services.inventory.release("nova-all");
    await drain();
    expect((await search({ keyword: "nova" })).items[0].inStock).toBe(true);
  });

  it("nothing is lost when indexing fails midway: rows stay pending until indexed", async () => {
    await h.services.products.update(ids.mi!, { title: "小米 14 Ultra 徕卡 Xiaomi 14 Ultra Leica" });
    const failing: SearchBackend = {
      ...h.services.search.backend,
      name: "failing",
      index: async () => {
        throw new Error("index down");
      },
      remove: async () => {
        throw new Error("index down");
      },
      search: (q) => h.services.search.backend.search(q),
    };
    await expect(
      drainOnce({ prisma: h.services.prisma, redis: h.services.redis, keys: h.services.deps.keys, backend: failing }),
    ).rejects.toThrow("index down");
    expect(await pendingOutbox(h.services.prisma)).toBeGreaterThan(0);
    expect((await search({ keyword: "徕卡" })).total).toBe(0);
    await drain();
    expect(spuIds(await search({ keyword: "徕卡" }))).toEqual([ids.mi]);
  });

  it("the search-sync worker picks up changes made while it was stopped", async () => {
    let stop = await startWorkers(h.config, { databaseUrl: h.db.url, syncEveryMs: 100, releaseEveryMs: 60_000 });
    await stop(); // worker down
    await h.services.products.update(ids.mate!, { title: "华为 Mate 60 RS 非凡大师 Huawei Mate 60 RS" });
    expect(await pendingOutbox(h.services.prisma)).toBeGreaterThan(0);
    expect((await search({ keyword: "非凡大师" })).total).toBe(0);
    stop = await startWorkers(h.config, { databaseUrl: h.db.url, syncEveryMs: 100, releaseEveryMs: 60_000 });
    try {
      await waitFor(async () => (await pendingOutbox(h.services.prisma)) === 0, "the search outbox drained", 30_000, 100);
    } finally {
      await stop();
    }
    expect(await pendingOutbox(h.services.prisma)).toBe(0);
    expect(spuIds(await search({ keyword: "非凡大师" }))).toEqual([ids.mate]);
  });

  it("values of non-searchable attributes are neither filters nor facets", async () => {
    const s = h.services;
    const categoryId = (await s.prisma.spu.findUniqueOrThrow({ where: { id: ids.nova! } })).categoryId;
    const origin = await s.taxonomy.createAttribute({
      categoryId,
      name: "产地 Origin",
      kind: "BASE",
      searchable: false,
      values: ["深圳 Shenzhen"],
    });
    const p = await s.products.create({
      title: "产地测试 Origin phone",
      categoryId,
      baseAttributeValueIds: [origin.values[0]!.id],
      skus: [{ code: "origin-1", title: "o", price: "10.00", currency: "CNY", initialStock: 1 }],
    });
    await s.products.putOnShelf(p.id);
    await drain();
    const r = await search({ keyword: "产地测试" });
    expect(spuIds(r)).toEqual([p.id]);
    expect(r.facets.attributes.map((a: any) => a.name)).not.toContain("产地 Origin");
    expect((await search({ attributeValueIds: [origin.values[0]!.id] })).total).toBe(0);
    await s.products.takeOffShelf(p.id);
    await drain();
  });
});
