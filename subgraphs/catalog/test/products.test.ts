import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, INTERNAL, errorCode, errorReason, ok, startHarness, smallCatalog, type Harness } from "./helpers.ts";

const PRODUCT = `query Product($id: ID!) {
  product(id: $id) {
    id title status
    brand { id name }
    skus { id code title price currency stock { available } saleAttributes { name value } }
    saleAttributeMatrix { attributes { id name values { id value } } combinations { skuId valueIds price available } }
    baseAttributes { name value }
    category { id name level }
    minPrice currency
    ratingSummary { count average distribution }
  }
}`;
const CREATE = `mutation($input: ProductInput!) { adminCreateProduct(input: $input) { id status skus { id } } }`;
const ADD_SKU = `mutation($id: ID!, $input: SkuInput!) { adminAddSku(productId: $id, input: $input) { id price currency } }`;

describe("products: SPU, SKU, shelving, product detail, entities", () => {
  let h: Harness;
  let queries = 0;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  beforeAll(async () => {
    h = await startHarness({ onQuery: () => queries++ });
    cat = await smallCatalog(h.services, { skus: 4 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("product detail returns SPU, SKUs, stock and the sale-attribute matrix in one request", async () => {
    const p = ok<any>(await h.gql(PRODUCT, { id: cat.product.id })).product;
    expect(p).toMatchObject({
      id: cat.product.id,
      status: "ON_SHELF",
      brand: { id: cat.brand.id, name: "华为 Huawei" },
      minPrice: "6999.00",
      currency: "CNY",
    });
    expect(p.category).toEqual({ id: cat.leaf.id, name: cat.leaf.name, level: 3 });
    expect(p.baseAttributes).toEqual([{ name: "屏幕 Screen", value: "6.8 inch" }]);
    expect(p.skus).toHaveLength(4);
    expect(p.skus[0]).toMatchObject({ code: "MATE60-0", price: "6999.00", currency: "CNY", stock: { available: 10 } });
    expect(p.skus[0].saleAttributes).toEqual([
      { name: "存储 Storage", value: "12GB+256GB" },
      { name: "颜色 Colour", value: "雅丹黑 Black" },
    ]);
    const m = p.saleAttributeMatrix;
    expect(m.attributes.map((a: any) => a.name)).toEqual(["存储 Storage", "颜色 Colour"]);
    expect(m.attributes.map((a: any) => a.values.length)).toEqual([2, 2]);
    expect(m.combinations).toHaveLength(4);
    // every combination of values names exactly one SKU
    expect(new Set(m.combinations.map((c: any) => c.valueIds.join("|"))).size).toBe(4);
    expect(p.ratingSummary).toEqual({ count: 0, average: null, distribution: [0, 0, 0, 0, 0] });
  });

  it("a draft is hidden from shoppers, visible to operators", async () => {
    const draft = await h.services.products.create({ title: "Draft phone", categoryId: cat.leaf.id });
    expect(ok<any>(await h.gql(`{ product(id: "${draft.id}") { id } }`)).product).toBeNull();
    expect(ok<any>(await h.gql(`{ product(id: "${draft.id}") { id status } }`, undefined, ADMIN)).product).toEqual({
      id: draft.id,
      status: "DRAFT",
    });
    expect(ok<any>(await h.gql(`{ product(id: "nope") { id } }`)).product).toBeNull();
  });

  it("resolves Product and Sku entities in batches: 50 references cost a constant number of queries", async () => {
    // 50 SKUs over 13 SPUs
    const skuIds: string[] = [...cat.product.skus.map((s) => s.id)];
    for (let i = 0; skuIds.length < 50; i++) {
      const p = await h.services.products.create({
        title: `Batch phone ${i}`,
        categoryId: cat.leaf.id,
        brandId: cat.brand.id,
        skus: [0, 1, 2, 3].map((j) => ({
          code: `B${i}-${j}`,
          title: `Batch ${i}/${j}`,
          price: "10.00",
          currency: "CNY",
          initialStock: 3,
          saleAttributeValueIds: [cat.colour.values[j % 2]!.id, cat.storage.values[Math.floor(j / 2)]!.id],
        })),
      });
      skuIds.push(...p.skus.map((s) => s.id));
    }
    const reps = skuIds.slice(0, 50).map((id) => ({ __typename: "Sku", id }));
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Sku { id title price currency stock { available } saleAttributes { name value } product { id title brand { name } } } } }`;
    const count = async (r: unknown[]) => {
      queries = 0;
      const res = ok<any>(await h.gql(q, { r }));
      return { n: queries, res };
    };
    const ten = await count(reps.slice(0, 10));
    const fifty = await count(reps);
    expect(fifty.res._entities).toHaveLength(50);
    expect(fifty.res._entities.every((e: any) => e && e.product && e.product.brand.name === "华为 Huawei")).toBe(true);
    expect(fifty.n).toBe(ten.n); // constant: does not grow with the number of lines
    expect(fifty.n).toBeGreaterThan(0);
    expect(fifty.n).toBeLessThanOrEqual(20);
    // Products
    const preps = [...new Set(fifty.res._entities.map((e: any) => e.product.id))].map((id) => ({ __typename: "Product", id }));
    queries = 0;
    const prods = ok<any>(
      await h.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id skus { id } ratingSummary { count } } } }`, {
        r: preps,
      }),
    );
    expect(prods._entities.length).toBe(preps.length);
    const pq = queries;
    queries = 0;
    ok(
      await h.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id skus { id } ratingSummary { count } } } }`, {
        r: preps.slice(0, 2),
      }),
    );
    expect(pq).toBe(queries);
    // unknown ids resolve to null
    expect(ok<any>(await h.gql(q, { r: [{ __typename: "Sku", id: "nope" }] }))._entities).toEqual([null]);
  });

  it("skuSnapshots (internal) answers in the order of ids with null for unknown ones", async () => {
    const ids = [cat.product.skus[1]!.id, "nope", cat.product.skus[0]!.id];
    const q = `query($ids: [ID!]!) { skuSnapshots(ids: $ids) { id spuId title price currency onShelf available image } }`;
    expect(errorCode(await h.gql(q, { ids }))).toBe("FORBIDDEN");
    const snaps = ok<any>(await h.gql(q, { ids }, INTERNAL)).skuSnapshots;
    expect(snaps[1]).toBeNull();
    expect(snaps[0]).toMatchObject({
      id: ids[0],
      spuId: cat.product.id,
      price: "7999.00",
      currency: "CNY",
      onShelf: true,
      available: 10,
      image: "https://img.example/mate60.jpg",
    });
    expect(snaps[2].id).toBe(ids[2]);
  });

  it("refuses bad prices, negative stock, unknown ids, taken codes — and writes nothing", async () => {
    const counts = async () => [
      await h.services.prisma.spu.count(),
      await h.services.prisma.sku.count(),
      await h.services.prisma.inventory.count(),
      await h.services.prisma.inboundRecord.count(),
    ];
    const before = await counts();
    const base = { title: "Bad", categoryId: cat.leaf.id };
    const sku = (over: Record<string, unknown>) => ({
      ...base,
      skus: [
        { code: "OK-1", title: "ok", price: "1.00", currency: "CNY" },
        { code: "BAD-1", title: "bad", price: "1.00", currency: "CNY", ...over },
      ],
    });
    const tooPrecise = await h.gql(CREATE, { input: sku({ price: "1.001" }) }, ADMIN);
    expect(errorCode(tooPrecise)).toBe("BAD_USER_INPUT");
    expect(tooPrecise.errors![0]!.message).toMatch(/decimal places/);
    expect(errorCode(await h.gql(CREATE, { input: sku({ price: "5.5", currency: "JPY" }) }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(CREATE, { input: sku({ price: "-1.00" }) }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(CREATE, { input: sku({ price: "abc" }) }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(CREATE, { input: sku({ currency: "XXX" }) }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(CREATE, { input: sku({ initialStock: -5 }) }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(CREATE, { input: sku({ code: "MATE60-0" }) }, ADMIN))).toBe("ALREADY_EXISTS");
    expect(errorCode(await h.gql(CREATE, { input: sku({ code: "OK-1" }) }, ADMIN))).toBe("ALREADY_EXISTS");
    expect(errorCode(await h.gql(CREATE, { input: sku({ saleAttributeValueIds: ["nope"] }) }, ADMIN))).toBe("NOT_FOUND");
    expect(errorReason(await h.gql(CREATE, { input: sku({ saleAttributeValueIds: [cat.screen.values[0]!.id] }) }, ADMIN))).toBe(
      "ATTRIBUTE_MISMATCH",
    );
    expect(errorCode(await h.gql(CREATE, { input: { ...base, categoryId: "nope" } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorReason(await h.gql(CREATE, { input: { ...base, categoryId: cat.mid.id } }, ADMIN))).toBe("CATEGORY_NOT_LEAF");
    expect(errorCode(await h.gql(CREATE, { input: { ...base, brandId: "nope" } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(ADD_SKU, { id: "nope", input: { code: "Z", title: "z", price: "1", currency: "CNY" } }, ADMIN))).toBe(
      "NOT_FOUND",
    );
    expect(
      errorCode(await h.gql(ADD_SKU, { id: cat.product.id, input: { code: "Z", title: "z", price: "0.123", currency: "USD" } }, ADMIN)),
    ).toBe("BAD_USER_INPUT");
    // beyond the Decimal(18,4) column: a clear refusal, not a database error
    const huge = await h.gql(CREATE, { input: sku({ price: "100000000000000" }) }, ADMIN);
    expect(errorCode(huge)).toBe("BAD_USER_INPUT");
    expect(errorReason(huge)).toBe("BAD_PRICE");
    expect(
      errorReason(
        await h.gql(ADD_SKU, { id: cat.product.id, input: { code: "Z", title: "z", price: "999999999999999", currency: "CNY" } }, ADMIN),
      ),
    ).toBe("BAD_PRICE");
    // one currency per product (its lowest price compares SKU prices)
    const mixed = await h.gql(CREATE, { input: sku({ currency: "USD" }) }, ADMIN);
    expect(errorCode(mixed)).toBe("BAD_USER_INPUT");
    expect(errorReason(mixed)).toBe("CURRENCY_MISMATCH");
    expect(
      errorReason(await h.gql(ADD_SKU, { id: cat.product.id, input: { code: "Z", title: "z", price: "1.00", currency: "USD" } }, ADMIN)),
    ).toBe("CURRENCY_MISMATCH");
    expect(await counts()).toEqual(before);
  });

  it("parallel SKU additions: one SKU per sale-attribute combination, one currency per product", async () => {
    const p = await h.services.products.create({ title: "Race phone", categoryId: cat.leaf.id });
    const combo = [cat.colour.values[0]!.id, cat.storage.values[0]!.id];
    const same = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        h.services.products.addSku(p.id, { code: `RACE-${i}`, title: "r", price: "1.00", currency: "CNY", saleAttributeValueIds: combo }),
      ),
    );
    expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(
      same
        .filter((r) => r.status === "rejected")
        .every((r) => (r as PromiseRejectedResult).reason.extensions?.reason === "ATTRIBUTE_MISMATCH"),
    ).toBe(true);
    expect(await h.services.prisma.sku.count({ where: { spuId: p.id } })).toBe(1);
    const q = await h.services.products.create({ title: "Race phone 2", categoryId: cat.leaf.id });
    const currencies = ["USD", "EUR", "HKD", "CNY", "USD", "EUR", "HKD", "CNY"];
    const mixed = await Promise.allSettled(
      currencies.map((c, i) => h.services.products.addSku(q.id, { code: `RACE-C${i}`, title: "r", price: "1.00", currency: c })),
    );
    const kept = await h.services.prisma.sku.findMany({ where: { spuId: q.id } });
    expect(new Set(kept.map((k) => k.currency)).size).toBe(1);
    expect(kept).toHaveLength(mixed.filter((r) => r.status === "fulfilled").length);
  });

  it("shelving: DRAFT → ON_SHELF → OFF_SHELF → ON_SHELF; no SKU → refused; unknown → NOT_FOUND", async () => {
    const put = `mutation($id: ID!) { adminPutOnShelf(id: $id) { id status onShelfAt } }`;
    const off = `mutation($id: ID!) { adminTakeOffShelf(id: $id) { id status } }`;
    const empty = await h.services.products.create({ title: "No SKU", categoryId: cat.leaf.id });
    const r = await h.gql(put, { id: empty.id }, ADMIN);
    expect(errorCode(r)).toBe("INVALID_STATE");
    expect(errorReason(r)).toBe("PRODUCT_HAS_NO_SKU");
    expect((await h.services.prisma.spu.findUnique({ where: { id: empty.id } }))!.status).toBe("DRAFT");
    expect(errorReason(await h.gql(off, { id: empty.id }, ADMIN))).toBe("INVALID_TRANSITION");
    expect(errorCode(await h.gql(put, { id: "nope" }, ADMIN))).toBe("NOT_FOUND");
    ok(
      await h.gql(
        ADD_SKU,
        { id: empty.id, input: { code: "NOSKU-1", title: "now one", price: "99.90", currency: "CNY", initialStock: 1 } },
        ADMIN,
      ),
    );
    const on = ok<any>(await h.gql(put, { id: empty.id }, ADMIN)).adminPutOnShelf;
    expect(on.status).toBe("ON_SHELF");
    expect(on.onShelfAt).toBeTruthy();
    expect(ok<any>(await h.gql(off, { id: empty.id }, ADMIN)).adminTakeOffShelf.status).toBe("OFF_SHELF");
    expect(ok<any>(await h.gql(put, { id: empty.id }, ADMIN)).adminPutOnShelf.status).toBe("ON_SHELF");
    expect(errorCode(await h.gql(put, { id: empty.id }))).toBe("UNAUTHENTICATED");
  });

  it("updates a SKU price exactly and refuses a price too precise for the currency", async () => {
    const upd = `mutation($id: ID!, $input: SkuUpdateInput!) { adminUpdateSku(id: $id, input: $input) { id price currency } }`;
    const id = cat.product.skus[0]!.id;
    expect(ok<any>(await h.gql(upd, { id, input: { price: "6899.1" } }, ADMIN)).adminUpdateSku).toEqual({
      id,
      price: "6899.10",
      currency: "CNY",
    });
    expect(errorCode(await h.gql(upd, { id, input: { price: "6899.111" } }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(upd, { id, input: { currency: "JPY" } }, ADMIN))).toBe("BAD_USER_INPUT"); // 6899.10 has cents
    expect(errorCode(await h.gql(upd, { id: "nope", input: { price: "1" } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorReason(await h.gql(upd, { id, input: { price: "100000000000000" } }, ADMIN))).toBe("BAD_PRICE");
    // the other SKUs stay in CNY: switching one SKU to USD is refused
    expect(errorReason(await h.gql(upd, { id, input: { currency: "USD", price: "1.00" } }, ADMIN))).toBe("CURRENCY_MISMATCH");
    expect((await h.services.prisma.sku.findUniqueOrThrow({ where: { id } })).currency).toBe("CNY");
    expect((await h.services.products.loadSkus([id]))[0]!.price).toBe("6899.10");
  });

  it("brands and attributes: leaf categories only, unique names", async () => {
    const q = `mutation($input: BrandInput!) { adminCreateBrand(input: $input) { id name categories { id } } }`;
    expect(errorReason(await h.gql(q, { input: { name: "Mid brand", categoryIds: [cat.mid.id] } }, ADMIN))).toBe("CATEGORY_NOT_LEAF");
    expect(errorCode(await h.gql(q, { input: { name: "华为 Huawei" } }, ADMIN))).toBe("ALREADY_EXISTS");
    const b = ok<any>(await h.gql(q, { input: { name: "小米 Xiaomi", categoryIds: [cat.leaf.id] } }, ADMIN)).adminCreateBrand;
    expect(b.categories).toEqual([{ id: cat.leaf.id }]);
    const brands = ok<any>(await h.gql(`query($c: ID) { brands(categoryId: $c) { name } }`, { c: cat.leaf.id })).brands.map(
      (x: any) => x.name,
    );
    expect(brands).toEqual(expect.arrayContaining(["华为 Huawei", "小米 Xiaomi"]));
    const attrs = ok<any>(
      await h.gql(`query($c: ID!) { attributes(categoryId: $c, kind: SALE) { name kind searchable values { value } } }`, {
        c: cat.leaf.id,
      }),
    ).attributes;
    expect(attrs.map((a: any) => a.name).sort()).toEqual(["存储 Storage", "颜色 Colour"]);
    const attrQ = `mutation($input: AttributeInput!) { adminCreateAttribute(input: $input) { id } }`;
    expect(errorReason(await h.gql(attrQ, { input: { categoryId: cat.root.id, name: "x", kind: "BASE" } }, ADMIN))).toBe(
      "CATEGORY_NOT_LEAF",
    );
    expect(
      errorCode(await h.gql(attrQ, { input: { categoryId: cat.leaf.id, name: "dup", kind: "BASE", values: ["a", "a"] } }, ADMIN)),
    ).toBe("BAD_USER_INPUT");
  });

  it("the product cache never serves a stale product after a write", async () => {
    const q = `query($id: ID!) { product(id: $id) { title brand { name } skus { code price stock { available } } } }`;
    const p = await h.services.products.create({
      title: "Cache phone",
      categoryId: cat.leaf.id,
      brandId: cat.brand.id,
      skus: [{ code: "CACHE-1", title: "c1", price: "100.00", currency: "CNY", initialStock: 5 }],
    });
    await h.services.products.putOnShelf(p.id);
    const get = async () => ok<any>(await h.gql(q, { id: p.id })).product;
    await get();
    await get(); // cached now
    expect(
      await h.services.redis.get(
        h.services.deps.keys("product", p.id, "d", (await h.services.redis.get(h.services.deps.keys("product", p.id, "v"))) ?? "0"),
      ),
    ).toBeTruthy();
    await h.services.products.updateSku(p.skus[0]!.id, { price: "88.80" });
    expect((await get()).skus[0].price).toBe("88.80");
    await h.services.products.update(p.id, { title: "Cache phone 2" });
    expect((await get()).title).toBe("Cache phone 2");
    await h.services.products.addSku(p.id, { code: "CACHE-2", title: "c2", price: "1.00", currency: "CNY" });
    expect((await get()).skus.map((k: any) => k.code)).toEqual(["CACHE-1", "CACHE-2"]);
    await h.services.inventory.inbound(p.skus[0]!.id, 7, null, null);
    expect((await get()).skus[0].stock.available).toBe(12); // stock is never cached
    await h.services.taxonomy.updateBrand(cat.brand.id, { name: "华为 HUAWEI" });
    expect((await get()).brand.name).toBe("华为 HUAWEI");
    await h.services.taxonomy.updateBrand(cat.brand.id, { name: "华为 Huawei" });
    // reads racing writes: after each write commits, the next read sees it
    for (let i = 0; i < 10; i++) {
      const reads = Array.from({ length: 5 }, () => h.services.products.loadProducts([p.id]));
      await h.services.products.update(p.id, { title: `Race ${i}` });
      await Promise.all(reads);
      expect((await h.services.products.loadProducts([p.id]))[0]!.title).toBe(`Race ${i}`);
    }
  });
});
