import { assertInternal } from "@mallgraph/platform/access";
import { loadConfig } from "@mallgraph/platform/config";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromotionCampaignScopeSource, type CampaignScope } from "../src/services/campaigns.ts";
import { PromotionSeckillSkuSource } from "../src/services/seckill.ts";
import { ADMIN, errorCode, ok, startHarness, smallCatalog, type Harness } from "./helpers.ts";

type Session = { status: "SCHEDULED" | "ONLINE" | "ENDED"; items: Array<{ skuId: string }> };

const CREATE = `mutation($input: FrontCategoryInput!) { adminCreateFrontCategory(input: $input) { id name sort kind backCategories { id } } }`;
const LIST = `{ frontCategories { id name sort kind backCategories { id name } products(first: 10) { id title } } }`;

describe("front (shop) categories", () => {
  let h: Harness;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  // a tiny real promotion subgraph answering seckillSessions
  let promotion: RunningSubgraph;
  let sessions: Session[] = [];
  let campaigns: CampaignScope[] = [];
  let promotionDown = false;
  beforeAll(async () => {
    const secret = loadConfig({} as any).INTERNAL_SECRET;
    promotion = await startSubgraph({
      name: "promotion-stub",
      typeDefs: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        enum SeckillSessionStatus { SCHEDULED ONLINE ENDED }
        type SeckillItem { skuId: ID! }
        type SeckillSession { status: SeckillSessionStatus! items: [SeckillItem!]! }
        enum CouponScope { ALL CATEGORIES SPUS }
        type FullReductionCampaign { scope: CouponScope! scopeIds: [ID!]! }
        type Query { seckillSessions: [SeckillSession!]! fullReductionCampaigns: [FullReductionCampaign!]! }`,
      resolvers: {
        Query: {
          seckillSessions: (_: unknown, __: unknown, ctx: any) => {
            assertInternal(ctx);
            if (promotionDown) throw new Error("promotion is down");
            return sessions;
          },
          fullReductionCampaigns: (_: unknown, __: unknown, ctx: any) => {
            assertInternal(ctx);
            if (promotionDown) throw new Error("promotion is down");
            return campaigns;
          },
        },
      },
      port: 0,
      internalSecret: secret,
      context: (base) => base,
    });
    h = await startHarness({
      seckillSource: new PromotionSeckillSkuSource({ url: promotion.url, secret }),
      campaignSource: new PromotionCampaignScopeSource({ url: promotion.url, secret }),
    });
    cat = await smallCatalog(h.services);
  });
  afterAll(async () => {
    await h?.stop();
    await promotion?.stop();
  });

  it("have their own names and order and map many-to-many onto back categories", async () => {
    const b = ok<any>(
      await h.gql(CREATE, { input: { name: "数码好物 Gadgets", sort: 2, backCategoryIds: [cat.root.id] } }, ADMIN),
    ).adminCreateFrontCategory;
    const a = ok<any>(
      await h.gql(CREATE, { input: { name: "手机 Phones", sort: 1, backCategoryIds: [cat.leaf.id, cat.mid.id] } }, ADMIN),
    ).adminCreateFrontCategory;
    expect(a.backCategories.map((c: any) => c.id).sort()).toEqual([cat.leaf.id, cat.mid.id].sort());
    const list = ok<any>(await h.gql(LIST)).frontCategories;
    expect(list.map((f: any) => f.name)).toEqual(["手机 Phones", "数码好物 Gadgets"]);
    // a root back category shows the SPUs of its leaves
    expect(list[1].products.map((p: any) => p.id)).toEqual([cat.product.id]);
    expect(list[0].products.map((p: any) => p.id)).toEqual([cat.product.id]);
    expect(b.kind).toBe("NORMAL");
  });

  it("NEW shows SPUs put on shelf within 14 days; SECKILL is empty without seckill sessions", async () => {
    ok(await h.gql(CREATE, { input: { name: "新品 New", sort: 0, kind: "NEW" } }, ADMIN));
    ok(await h.gql(CREATE, { input: { name: "秒杀 Seckill", sort: 9, kind: "SECKILL", backCategoryIds: [cat.leaf.id] } }, ADMIN));
    let list = ok<any>(await h.gql(LIST)).frontCategories;
    expect(list.find((f: any) => f.kind === "NEW").products.map((p: any) => p.id)).toEqual([cat.product.id]);
    expect(list.find((f: any) => f.kind === "SECKILL").products).toEqual([]);
    await h.services.prisma.spu.update({
      where: { id: cat.product.id },
      data: { onShelfAt: new Date(Date.now() - 15 * 24 * 3600 * 1000) },
    });
    list = ok<any>(await h.gql(LIST)).frontCategories;
    expect(list.find((f: any) => f.kind === "NEW").products).toEqual([]);
  });

  it("SECKILL shows the SPUs on shelf of online (first) and scheduled seckill sessions; empty when promotion is down", async () => {
    const mk = async (code: string, shelf: boolean) => {
      const p = await h.services.products.create({
        title: `Seckill ${code}`,
        categoryId: cat.leaf.id,
        skus: [{ code, title: code, price: "1.00", currency: "CNY", initialStock: 5 }],
      });
      if (shelf) await h.services.products.putOnShelf(p.id);
      return { spuId: p.id, skuId: p.skus[0]!.id };
    };
    const live = await mk("SK-LIVE", true);
    const ended = await mk("SK-ENDED", true);
    const draft = await mk("SK-DRAFT", false);
    sessions = [
      { status: "SCHEDULED", items: [{ skuId: cat.product.skus[0]!.id }, { skuId: draft.skuId }, { skuId: "unknown-sku" }] },
      { status: "ENDED", items: [{ skuId: ended.skuId }] },
      { status: "ONLINE", items: [{ skuId: live.skuId }, { skuId: cat.product.skus[1]!.id }] },
    ];
    const seckill = async () =>
      ok<any>(await h.gql(LIST))
        .frontCategories.find((f: any) => f.kind === "SECKILL")
        .products.map((p: any) => p.id);
    expect(await seckill()).toEqual([live.spuId, cat.product.id]);
    promotionDown = true;
    try {
      expect(await seckill()).toEqual([]);
    } finally {
      promotionDown = false;
      sessions = [];
    }
  });

  it("update renames, reorders and re-maps", async () => {
    const UPDATE = `mutation($id: ID!, $input: FrontCategoryInput!) { adminUpdateFrontCategory(id: $id, input: $input) { id name sort kind backCategories { id } } }`;
    const f = ok<any>(
      await h.gql(CREATE, { input: { name: "满减 Deals", sort: 5, kind: "FULL_REDUCTION", backCategoryIds: [cat.leaf.id] } }, ADMIN),
    ).adminCreateFrontCategory;
    expect(f.kind).toBe("FULL_REDUCTION");
    // an unknown back category: refused, the front category unchanged
    expect(errorCode(await h.gql(UPDATE, { id: f.id, input: { name: "x", backCategoryIds: ["nope"] } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(UPDATE, { id: "nope", input: { name: "x" } }, ADMIN))).toBe("NOT_FOUND");
    let list = ok<any>(await h.gql(LIST)).frontCategories;
    expect(list.find((x: any) => x.id === f.id)).toMatchObject({ name: "满减 Deals", sort: 5, backCategories: [{ id: cat.leaf.id }] });
    const u = ok<any>(
      await h.gql(UPDATE, { id: f.id, input: { name: "满减专区 Deals", sort: -1, kind: "FULL_REDUCTION", backCategoryIds: [] } }, ADMIN),
    ).adminUpdateFrontCategory;
    expect(u).toEqual({ id: f.id, name: "满减专区 Deals", sort: -1, kind: "FULL_REDUCTION", backCategories: [] });
    list = ok<any>(await h.gql(LIST)).frontCategories;
    expect(list[0]).toMatchObject({ id: f.id, name: "满减专区 Deals", products: [] });
    expect(
      ok<any>(await h.gql(`mutation($id: ID!) { adminDeleteFrontCategory(id: $id) }`, { id: f.id }, ADMIN)).adminDeleteFrontCategory,
    ).toBe(true);
    expect(ok<any>(await h.gql(LIST)).frontCategories.map((x: any) => x.id)).not.toContain(f.id);
  });

  it("FULL_REDUCTION shows the SPUs on shelf in scope of promotion's live campaigns (ALL, CATEGORIES with descendants, SPUS), within its back categories when mapped", async () => {
    const other = await h.services.categories.create({ name: "Other root" });
    const otherMid = await h.services.categories.create({ name: "Other mid", parentId: other.id });
    const otherLeaf = await h.services.categories.create({ name: "Other leaf", parentId: otherMid.id });
    const mk = async (code: string, categoryId: string, shelf = true) => {
      const p = await h.services.products.create({
        title: `FR ${code}`,
        categoryId,
        skus: [{ code, title: code, price: "1.00", currency: "CNY", initialStock: 5 }],
      });
      if (shelf) await h.services.products.putOnShelf(p.id);
      return p.id;
    };
    const inOther = await mk("FR-OTHER", otherLeaf.id);
    const draft = await mk("FR-DRAFT", otherLeaf.id, false);
    const onShelfInCat = (await h.services.prisma.spu.findMany({ where: { categoryId: cat.leaf.id, status: "ON_SHELF" } })).map(
      (p) => p.id,
    );
    const all = ok<any>(await h.gql(CREATE, { input: { name: "满减 All", kind: "FULL_REDUCTION" } }, ADMIN)).adminCreateFrontCategory;
    const mapped = ok<any>(
      await h.gql(CREATE, { input: { name: "满减 Phones", kind: "FULL_REDUCTION", backCategoryIds: [cat.root.id] } }, ADMIN),
    ).adminCreateFrontCategory;
    const shown = async (id: string) =>
      (ok<any>(await h.gql(LIST)).frontCategories.find((f: any) => f.id === id).products as Array<{ id: string }>).map((p) => p.id).sort();
    // no live campaign: nothing
    expect(await shown(all.id)).toEqual([]);
    // a CATEGORIES campaign on a level-2 category covers its leaves; an SPUS campaign its SPUs (drafts never)
    campaigns = [
      { scope: "CATEGORIES", scopeIds: [otherMid.id] },
      { scope: "SPUS", scopeIds: [cat.product.id, draft] },
    ];
    expect(await shown(all.id)).toEqual([inOther, cat.product.id].sort());
    // mapped back categories narrow it
    expect(await shown(mapped.id)).toEqual([cat.product.id]);
    // ALL: every SPU on shelf (within the mapping)
    campaigns = [{ scope: "ALL", scopeIds: [] }];
    expect(await shown(all.id)).toEqual([...onShelfInCat, inOther].sort());
    expect(await shown(mapped.id)).toEqual([...onShelfInCat].sort());
    promotionDown = true;
    try {
      expect(await shown(all.id)).toEqual([]);
    } finally {
      promotionDown = false;
      campaigns = [];
    }
  });

  it("spuScopes (internal): each SPU's category path, leaf first, and its SKUs' currencies", async () => {
    const Q = `query($ids: [ID!]!) { spuScopes(spuIds: $ids) { spuId categoryIds currencies } }`;
    const r = ok<any>(await h.gql(Q, { ids: [cat.product.id, "nope"] }, { kind: "internal", service: "promotion" }));
    expect(r.spuScopes).toEqual([
      { spuId: cat.product.id, categoryIds: [cat.leaf.id, cat.mid.id, cat.root.id], currencies: ["CNY"] },
      null,
    ]);
    expect(errorCode(await h.gql(Q, { ids: [cat.product.id] }, ADMIN))).toBe("FORBIDDEN");
  });

  it("refuses unknown back categories and writes nothing; needs catalog:write", async () => {
    const before = await h.services.prisma.frontCategory.count();
    expect(errorCode(await h.gql(CREATE, { input: { name: "x", backCategoryIds: ["nope"] } }, ADMIN))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(CREATE, { input: { name: "x" } }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await h.gql(`mutation { adminDeleteFrontCategory(id: "nope") }`, undefined, ADMIN))).toBe("NOT_FOUND");
    expect(await h.services.prisma.frontCategory.count()).toBe(before);
  });
});
