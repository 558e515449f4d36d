/**
 * The cross-domain contracts (src/contracts) against their providers' SDL: each field list names
 * exactly the fields of the provider's type (the TypeScript side is held by `fieldsOf` at compile
 * time), so a contract cannot drift from the schema it describes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse, type DocumentNode } from "graphql";
import { describe, expect, it } from "vitest";
import { SKU_SNAPSHOT_FIELDS, SKU_SNAPSHOTS_QUERY, SPU_SCOPE_FIELDS, STOCK_LINE_FIELDS } from "../src/contracts/catalog.ts";
import { PRICE_LINE_FIELDS, PRICE_QUOTE_COUPON_OPTION_FIELDS, PRICE_QUOTE_FIELDS } from "../src/contracts/promotion.ts";
import { REPO_ROOT } from "../src/testing.ts";

const sdl = (domain: string): DocumentNode => parse(readFileSync(path.join(REPO_ROOT, "subgraphs", domain, "schema.graphql"), "utf8"));

function fieldsOfType(doc: DocumentNode, name: string): string[] {
  for (const d of doc.definitions) {
    if ((d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) && d.name.value === name)
      return (d.fields ?? []).map((f) => f.name.value);
  }
  throw new Error(`no type ${name}`);
}

describe("cross-domain contracts", () => {
  it("catalog: SkuSnapshot, SpuScope and StockLineInput have exactly the contract's fields", () => {
    const catalog = sdl("catalog");
    expect([...SKU_SNAPSHOT_FIELDS].sort()).toEqual(fieldsOfType(catalog, "SkuSnapshot").sort());
    expect([...SPU_SCOPE_FIELDS].sort()).toEqual(fieldsOfType(catalog, "SpuScope").sort());
    expect([...STOCK_LINE_FIELDS].sort()).toEqual(fieldsOfType(catalog, "StockLineInput").sort());
    expect(SKU_SNAPSHOTS_QUERY).toBe(
      "query($ids: [ID!]!) { skuSnapshots(ids: $ids) { id spuId title price currency onShelf available image } }",
    );
  });

  it("promotion: PriceLineInput, PriceQuote and PriceQuoteCouponOption have exactly the contract's fields", () => {
    const promotion = sdl("promotion");
    expect([...PRICE_LINE_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceLineInput").sort());
    expect([...PRICE_QUOTE_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceQuote").sort());
    expect([...PRICE_QUOTE_COUPON_OPTION_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceQuoteCouponOption").sort());
  });
});
