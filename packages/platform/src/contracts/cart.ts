/**
 * What the cart offers other domains: a member's checked lines and their removal after an order was
 * placed from the cart (order) — cart `schema.graphql`, the @inaccessible fields;
 * docs/service-contracts.md. contracts.test.ts checks the field list against cart's SDL and
 * validates the documents against it.
 */
import { fieldsOf, selection } from "./fields.ts";

/** `CartLineSnapshot`: a checked line of a member's cart. */
export interface CartLineSnapshot {
  skuId: string;
  quantity: number;
}
export const CART_LINE_SNAPSHOT_FIELDS = fieldsOf<CartLineSnapshot>()("skuId", "quantity");

/** `cartCheckedLines(memberId)`: the checked lines of a member's cart. Variable `m`. */
export const CART_CHECKED_LINES_QUERY = `query($m: ID!) { cartCheckedLines(memberId: $m) ${selection(CART_LINE_SNAPSHOT_FIELDS)} }`;
export interface CartCheckedLinesAnswer {
  cartCheckedLines: CartLineSnapshot[];
}

/** `cartRemoveSkus(memberId, skuIds)`: removes those SKUs' lines (unknown ids are ignored). Variables `m s`. */
export const CART_REMOVE_SKUS_MUTATION = `mutation($m: ID!, $s: [ID!]!) { cartRemoveSkus(memberId: $m, skuIds: $s) }`;
export interface CartRemoveSkusAnswer {
  cartRemoveSkus: boolean;
}
