import { defineErrorCodes } from "@mallgraph/platform/errors";

/** Promotion's own error codes (decision 0030): an operator's seckill session or campaign change refused. */
export const PromotionErrorCode = defineErrorCodes({
  INVALID_STATE:
    "The seckill session or campaign is not in a state that allows this (a session about to start or ended, a SKU off the shelf, a campaign that could not be ended, a reconciliation of the item already running). Nothing changed.",
  OUT_OF_STOCK: "Catalog has less stock than the seckill session asks for (`extensions.failedSkuId`). Nothing changed.",
});

/** The promotion domain's result codes (business outcomes travel as `code`, never as errors). */
export const SeckillCode = {
  OK: "OK",
  SOLD_OUT: "SOLD_OUT",
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
  NOT_ONLINE: "NOT_ONLINE",
  DUPLICATE: "DUPLICATE",
  BAD_QUANTITY: "BAD_QUANTITY",
} as const;
export type SeckillCode = (typeof SeckillCode)[keyof typeof SeckillCode];

/** Codes the order subgraph's orderCreateSeckill answers that will never succeed on retry. */
export const PERMANENT_ORDER_REFUSALS = new Set(["BAD_QUANTITY", "ADDRESS_NOT_FOUND"]);
