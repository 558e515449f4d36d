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
