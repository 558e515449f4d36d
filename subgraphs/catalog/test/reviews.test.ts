import { assertInternal } from "@mallgraph/platform/access";
import { loadConfig } from "@mallgraph/platform/config";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderServicePurchaseVerifier } from "../src/services/purchases.ts";
import { errorCode, member, ok, startHarness, smallCatalog, type Harness } from "./helpers.ts";

const ADD = `mutation($o: ID!, $s: ID!, $r: Int!, $c: String!) { addReview(orderId: $o, skuId: $s, rating: $r, content: $c) { code review { id skuId rating content } } }`;

describe("reviews on purchased SKUs", () => {
  let h: Harness;
  let order: RunningSubgraph;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  const asked: Array<Record<string, string>> = [];
  beforeAll(async () => {
    const secret = loadConfig({} as any).INTERNAL_SECRET;
    // a tiny real order subgraph answering purchaseVerified (delivered orders of member m1 / m2)
    order = await startSubgraph({
      name: "order-stub",
      typeDefs: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Query { purchaseVerified(orderId: ID!, memberId: ID!, skuId: ID!): Boolean! }`,
      resolvers: {
        Query: {
          purchaseVerified: (_: unknown, a: Record<string, string>, ctx: any) => {
            assertInternal(ctx);
            asked.push(a);
            return a.orderId.startsWith("delivered-") && ["m1", "m2"].includes(a.memberId!);
          },
        },
      },
      port: 0,
      internalSecret: secret,
      context: (base) => base,
    });
    h = await startHarness({ purchaseVerifier: new OrderServicePurchaseVerifier({ url: order.url, secret }) });
    cat = await smallCatalog(h.services, { skus: 2 });
  });
  afterAll(async () => {
    await h?.stop();
    await order?.stop();
  });

  it("a member reviews a SKU of a delivered order once; the order subgraph is asked", async () => {
    const sku = cat.product.skus[0]!.id;
    const r = ok<any>(await h.gql(ADD, { o: "delivered-1", s: sku, r: 5, c: "很好用 Great phone" }, member("m1"))).addReview;
    expect(r).toMatchObject({ code: "OK", review: { skuId: sku, rating: 5, content: "很好用 Great phone" } });
    expect(asked.at(-1)).toEqual({ orderId: "delivered-1", memberId: "m1", skuId: sku });
    expect(ok<any>(await h.gql(ADD, { o: "delivered-1", s: sku, r: 4, c: "again" }, member("m1"))).addReview).toEqual({
      code: "ALREADY_REVIEWED",
      review: null,
    });
  });

  it("refuses a review without a verified purchase", async () => {
    const sku = cat.product.skus[0]!.id;
    expect(ok<any>(await h.gql(ADD, { o: "pending-9", s: sku, r: 5, c: "x" }, member("m1"))).addReview).toEqual({
      code: "NOT_PURCHASED",
      review: null,
    });
    expect(ok<any>(await h.gql(ADD, { o: "delivered-1", s: sku, r: 5, c: "x" }, member("m3"))).addReview).toEqual({
      code: "NOT_PURCHASED",
      review: null,
    });
  });

  it("bad input: rating outside 1..5, empty content, unknown SKU, anonymous — nothing written", async () => {
    const before = await h.services.prisma.review.count();
    const sku = cat.product.skus[1]!.id;
    expect(errorCode(await h.gql(ADD, { o: "delivered-2", s: sku, r: 0, c: "x" }, member("m1")))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(ADD, { o: "delivered-2", s: sku, r: 6, c: "x" }, member("m1")))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(ADD, { o: "delivered-2", s: sku, r: 3, c: "  " }, member("m1")))).toBe("BAD_USER_INPUT");
    expect(errorCode(await h.gql(ADD, { o: "delivered-2", s: "nope", r: 3, c: "x" }, member("m1")))).toBe("NOT_FOUND");
    expect(errorCode(await h.gql(ADD, { o: "delivered-2", s: sku, r: 3, c: "x" }))).toBe("UNAUTHENTICATED");
    expect(await h.services.prisma.review.count()).toBe(before);
  });

  it("rating summary on Product and paged reviews", async () => {
    ok(await h.gql(ADD, { o: "delivered-2", s: cat.product.skus[1]!.id, r: 4, c: "不错 Good" }, member("m1")));
    ok(await h.gql(ADD, { o: "delivered-3", s: cat.product.skus[0]!.id, r: 2, c: "一般 So-so" }, member("m2")));
    const p = ok<any>(
      await h.gql(
        `query($id: ID!) { product(id: $id) { ratingSummary { count average distribution } reviews(first: 2) { items { rating } pageInfo { hasNextPage endCursor } } } }`,
        { id: cat.product.id },
      ),
    ).product;
    expect(p.ratingSummary).toEqual({ count: 3, average: "3.67", distribution: [0, 1, 0, 1, 1] });
    expect(p.reviews.items).toHaveLength(2);
    expect(p.reviews.pageInfo.hasNextPage).toBe(true);
    const rest = ok<any>(
      await h.gql(`query($s: ID!, $a: String) { reviews(spuId: $s, first: 2, after: $a) { items { rating } pageInfo { hasNextPage } } }`, {
        s: cat.product.id,
        a: p.reviews.pageInfo.endCursor,
      }),
    ).reviews;
    expect(rest.items).toHaveLength(1);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect([...p.reviews.items, ...rest.items].map((r: any) => r.rating).sort()).toEqual([2, 4, 5]);
  });

  it("20 parallel reviews of one SKU in one order by one member: exactly one is stored", async () => {
    const sku = cat.product.skus[1]!.id;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.gql(ADD, { o: "delivered-par", s: sku, r: 3, c: "parallel" }, member("m2"))),
    );
    const codes = results.map((r) => ok<any>(r).addReview.code);
    expect(codes.filter((c) => c === "OK")).toHaveLength(1);
    expect(codes.filter((c) => c === "ALREADY_REVIEWED")).toHaveLength(19);
    expect(await h.services.prisma.review.count({ where: { orderId: "delivered-par" } })).toBe(1);
  });

  it("the order subgraph being down is a SERVICE_UNAVAILABLE error, not a review", async () => {
    const h2 = await startHarness({
      purchaseVerifier: new OrderServicePurchaseVerifier({ url: "http://127.0.0.1:9/graphql", secret: h.config.INTERNAL_SECRET }),
    });
    try {
      const c = await smallCatalog(h2.services, { skus: 1 });
      expect(errorCode(await h2.gql(ADD, { o: "delivered-1", s: c.product.skus[0]!.id, r: 5, c: "x" }, member("m1")))).toBe(
        "SERVICE_UNAVAILABLE",
      );
      expect(await h2.services.prisma.review.count()).toBe(0);
    } finally {
      await h2.stop();
    }
  });
});
