/**
 * The cross-domain contracts (src/contracts) against their providers' SDL: each field list names
 * exactly the fields of the provider's type (the TypeScript side is held by `fieldsOf` at compile
 * time), so a contract cannot drift from the schema it describes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildASTSchema, Kind, parse, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { CART_CHECKED_LINES_QUERY, CART_LINE_SNAPSHOT_FIELDS, CART_REMOVE_SKUS_MUTATION } from "../src/contracts/cart.ts";
import {
  INVENTORY_CONFIRM_MUTATION,
  INVENTORY_RELEASE_MUTATION,
  INVENTORY_RESERVE_MUTATION,
  INVENTORY_RESERVE_PRICED_MUTATION,
  INVENTORY_RETURN_MUTATION,
  RESERVED_SKU_FIELDS,
  RESERVE_RESULT_FIELDS,
  SKU_SNAPSHOT_FIELDS,
  SKU_SNAPSHOTS_QUERY,
  SPU_SCOPE_FIELDS,
  SPU_SCOPES_QUERY,
  STOCK_LINE_FIELDS,
  skuSnapshotsQuery,
} from "../src/contracts/catalog.ts";
import { COUPON_TEMPLATES_IN_USE_QUERY, MEMBER_LOTTERY_EXPORT_QUERY } from "../src/contracts/lottery.ts";
import {
  ADDRESS_SNAPSHOT_FIELDS,
  MEMBER_ADDRESS_QUERY,
  MEMBER_DEFAULT_ADDRESS_QUERY,
  WALLET_OP_RESULT_FIELDS,
  marketingBudgetMutation,
  memberWalletOpMutation,
  type MarketingBudgetOp,
  type MemberWalletOp,
} from "../src/contracts/member.ts";
import {
  MEMBER_OPEN_ORDERS_QUERY,
  MEMBER_ORDERS_EXPORT_QUERY,
  ORDER_CREATE_PRIZE_MUTATION,
  ORDER_CREATE_SECKILL_BATCH_MUTATION,
  ORDER_CREATE_SECKILL_MUTATION,
  ORDER_FOR_PAYMENT_QUERY,
  ORDER_MARK_PAID_MUTATION,
  ORDER_MARK_REFUNDED_MUTATION,
  ORDER_PAYMENT_INFO_FIELDS,
  ORDER_TRANSITION_CODES,
  ORDER_TRANSITION_RESULT_FIELDS,
  PURCHASE_VERIFIED_QUERY,
  SECKILL_ORDER_CODES,
  SECKILL_ORDER_INPUT_FIELDS,
  SECKILL_ORDER_RESULT_FIELDS,
  orderStatusesQuery,
} from "../src/contracts/order.ts";
import { REFUND_ORDER_PAYMENT_MUTATION, REFUND_RESULT_CODES } from "../src/contracts/payment.ts";
import {
  CLAIM_COUPON_RESULT_CODES,
  COUPON_CONSUME_MUTATION,
  COUPON_GRANT_MUTATION,
  COUPON_ISSUE_NEW_USER_MUTATION,
  COUPON_LOCK_CODES,
  COUPON_LOCK_MUTATION,
  COUPON_LOCK_RESULT_FIELDS,
  COUPON_RELEASE_MUTATION,
  PRICE_LINE_FIELDS,
  PRICE_QUOTE_COUPON_OPTION_FIELDS,
  PRICE_QUOTE_FIELDS,
  PRICE_TOTALS_QUERY,
  PROMOTION_PRICE_QUERY,
} from "../src/contracts/promotion.ts";
import { REPO_ROOT } from "../src/testing.ts";

const sdl = (domain: string): DocumentNode => parse(readFileSync(path.join(REPO_ROOT, "subgraphs", domain, "schema.graphql"), "utf8"));

/**
 * The provider's full subgraph schema (internal fields included: callers call the subgraph, not the
 * supergraph); its federation directives are left unchecked (compose.ts checks them).
 */
const schemaOf = (domain: string): GraphQLSchema => buildASTSchema(sdl(domain), { assumeValidSDL: true });

/** The validation errors of a caller's document against the provider's schema (none expected). */
const errorsOf = (schema: GraphQLSchema, document: string) => validate(schema, parse(document)).map((e) => e.message);

function enumValues(doc: DocumentNode, name: string): string[] {
  for (const d of doc.definitions)
    if (d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === name) return (d.values ?? []).map((v) => v.name.value);
  throw new Error(`no enum ${name}`);
}

/**
 * The codes a `String!` code field's description lists (`"OK | NOT_FOUND | …"`, optionally followed
 * by an explanation): the provider's promise for a code that is not an enum.
 */
function describedCodes(doc: DocumentNode, type: string, field: string): string[] {
  for (const d of doc.definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION || d.name.value !== type) continue;
    const description = d.fields?.find((f) => f.name.value === field)?.description?.value ?? "";
    const codes = /^[A-Z_]+(?: \| [A-Z_]+)*/.exec(description);
    if (!codes) throw new Error(`${type}.${field} lists no codes in its description`);
    return codes[0].split(" | ");
  }
  throw new Error(`no type ${type}`);
}

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

  it("promotion: PriceLineInput, PriceQuote, PriceQuoteCouponOption and CouponLockResult have exactly the contract's fields", () => {
    const promotion = sdl("promotion");
    expect([...PRICE_LINE_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceLineInput").sort());
    expect([...PRICE_QUOTE_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceQuote").sort());
    expect([...PRICE_QUOTE_COUPON_OPTION_FIELDS].sort()).toEqual(fieldsOfType(promotion, "PriceQuoteCouponOption").sort());
    expect([...COUPON_LOCK_RESULT_FIELDS].sort()).toEqual(fieldsOfType(promotion, "CouponLockResult").sort());
  });

  it("promotion: couponGrant's codes are ClaimCouponResultCode's values, couponLock's those its description lists; every document is valid", () => {
    const promotion = sdl("promotion");
    expect([...CLAIM_COUPON_RESULT_CODES].sort()).toEqual(enumValues(promotion, "ClaimCouponResultCode").sort());
    expect([...COUPON_LOCK_CODES].sort()).toEqual(describedCodes(promotion, "CouponLockResult", "code").sort());
    const schema = schemaOf("promotion");
    for (const doc of [
      PROMOTION_PRICE_QUERY,
      PRICE_TOTALS_QUERY,
      COUPON_GRANT_MUTATION,
      COUPON_LOCK_MUTATION,
      COUPON_RELEASE_MUTATION,
      COUPON_CONSUME_MUTATION,
      COUPON_ISSUE_NEW_USER_MUTATION,
    ])
      expect(errorsOf(schema, doc), doc).toEqual([]);
  });

  it("order: OrderPaymentInfo, OrderTransitionResult, SeckillOrderInput and SeckillOrderResult have exactly the contract's fields and codes; every document is valid", () => {
    const order = sdl("order");
    expect([...ORDER_PAYMENT_INFO_FIELDS].sort()).toEqual(fieldsOfType(order, "OrderPaymentInfo").sort());
    expect([...ORDER_TRANSITION_RESULT_FIELDS].sort()).toEqual(fieldsOfType(order, "OrderTransitionResult").sort());
    expect([...SECKILL_ORDER_INPUT_FIELDS].sort()).toEqual(fieldsOfType(order, "SeckillOrderInput").sort());
    expect([...SECKILL_ORDER_RESULT_FIELDS].sort()).toEqual(fieldsOfType(order, "SeckillOrderResult").sort());
    expect([...ORDER_TRANSITION_CODES].sort()).toEqual(describedCodes(order, "OrderTransitionResult", "code").sort());
    expect([...SECKILL_ORDER_CODES].sort()).toEqual(describedCodes(order, "SeckillOrderResult", "code").sort());
    const schema = schemaOf("order");
    for (const doc of [
      ORDER_FOR_PAYMENT_QUERY,
      orderStatusesQuery(1),
      orderStatusesQuery(3),
      ORDER_MARK_PAID_MUTATION,
      ORDER_MARK_REFUNDED_MUTATION,
      ORDER_CREATE_SECKILL_MUTATION,
      ORDER_CREATE_SECKILL_BATCH_MUTATION,
      ORDER_CREATE_PRIZE_MUTATION,
      PURCHASE_VERIFIED_QUERY,
      MEMBER_OPEN_ORDERS_QUERY,
      MEMBER_ORDERS_EXPORT_QUERY,
    ])
      expect(errorsOf(schema, doc), doc).toEqual([]);
  });

  it("cart: CartLineSnapshot has exactly the contract's fields; cartCheckedLines and cartRemoveSkus documents are valid", () => {
    expect([...CART_LINE_SNAPSHOT_FIELDS].sort()).toEqual(fieldsOfType(sdl("cart"), "CartLineSnapshot").sort());
    const schema = schemaOf("cart");
    for (const doc of [CART_CHECKED_LINES_QUERY, CART_REMOVE_SKUS_MUTATION]) expect(errorsOf(schema, doc), doc).toEqual([]);
  });

  it("member: WalletOpResult and AddressSnapshot have exactly the contract's fields; every wallet and address document is valid", () => {
    const member = sdl("member");
    expect([...WALLET_OP_RESULT_FIELDS].sort()).toEqual(fieldsOfType(member, "WalletOpResult").sort());
    expect([...ADDRESS_SNAPSHOT_FIELDS].sort()).toEqual(fieldsOfType(member, "AddressSnapshot").sort());
    const schema = schemaOf("member");
    const ops: Array<MemberWalletOp | "marketingGrant"> = [
      "walletFreeze",
      "walletUnfreeze",
      "walletCaptureFrozen",
      "walletCredit",
      "walletTopUp",
      "walletPayOut",
      "marketingGrant",
    ];
    const budget: MarketingBudgetOp[] = ["marketingBudgetFreeze", "marketingBudgetRelease"];
    for (const doc of [
      ...ops.map(memberWalletOpMutation),
      ...budget.map(marketingBudgetMutation),
      MEMBER_ADDRESS_QUERY,
      MEMBER_DEFAULT_ADDRESS_QUERY,
    ])
      expect(errorsOf(schema, doc), doc).toEqual([]);
  });

  it("payment: refundOrderPayment's document is valid and its codes are RefundResultCode's values", () => {
    expect(errorsOf(schemaOf("payment"), REFUND_ORDER_PAYMENT_MUTATION)).toEqual([]);
    expect([...REFUND_RESULT_CODES].sort()).toEqual(enumValues(sdl("payment"), "RefundResultCode").sort());
  });

  it("lottery: lotteryCouponTemplatesInUse and memberLotteryExport documents are valid", () => {
    const schema = schemaOf("lottery");
    for (const doc of [COUPON_TEMPLATES_IN_USE_QUERY, MEMBER_LOTTERY_EXPORT_QUERY]) expect(errorsOf(schema, doc), doc).toEqual([]);
  });

  it("catalog: the snapshot, scope and inventory documents are valid against catalog's schema; a reservation's answer is read in part", () => {
    const schema = schemaOf("catalog");
    for (const doc of [
      SKU_SNAPSHOTS_QUERY,
      skuSnapshotsQuery(["id", "price"]),
      SPU_SCOPES_QUERY,
      INVENTORY_RESERVE_MUTATION,
      INVENTORY_RESERVE_PRICED_MUTATION,
      INVENTORY_RELEASE_MUTATION,
      INVENTORY_CONFIRM_MUTATION,
      INVENTORY_RETURN_MUTATION,
    ])
      expect(errorsOf(schema, doc), doc).toEqual([]);
    expect(fieldsOfType(sdl("catalog"), "StockReservationResult")).toEqual(expect.arrayContaining([...RESERVE_RESULT_FIELDS, "skus"]));
    expect(fieldsOfType(sdl("catalog"), "ReservedSku").sort()).toEqual([...RESERVED_SKU_FIELDS].sort());
  });

  it("a document naming a field the provider does not have is caught", () => {
    expect(errorsOf(schemaOf("member"), "query($m: ID!) { memberDefaultAddress(memberId: $m) { id street } }")).not.toEqual([]);
  });
});
