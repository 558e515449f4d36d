/**
 * The order state machine, pure (no I/O):
 *
 *   PENDING_PAYMENT → PAID → SHIPPED → COMPLETED
 *   PENDING_PAYMENT → CANCELLED                      (buyer, or payment time-out)
 *   PAID | SHIPPED  → REFUNDING → REFUNDED           (after-sales / refunds)
 *
 * Every write applies a transition with a conditional UPDATE on the `from` status, so two racing
 * writers can never both move the same order.
 */
export const OrderStatus = {
  PENDING_PAYMENT: "PENDING_PAYMENT",
  PAID: "PAID",
  SHIPPED: "SHIPPED",
  COMPLETED: "COMPLETED",
  CANCELLED: "CANCELLED",
  REFUNDING: "REFUNDING",
  REFUNDED: "REFUNDED",
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const ORDER_STATUSES = Object.values(OrderStatus);

const NEXT: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING_PAYMENT: ["PAID", "CANCELLED"],
  PAID: ["SHIPPED", "REFUNDING"],
  SHIPPED: ["COMPLETED", "REFUNDING"],
  COMPLETED: [],
  CANCELLED: [],
  REFUNDING: ["REFUNDED"],
  REFUNDED: [],
};

/** The named moves of the domain and the statuses each may start from. */
export const OrderAction = {
  pay: { from: ["PENDING_PAYMENT"], to: "PAID" },
  cancel: { from: ["PENDING_PAYMENT"], to: "CANCELLED" },
  timeout: { from: ["PENDING_PAYMENT"], to: "CANCELLED" },
  ship: { from: ["PAID"], to: "SHIPPED" },
  confirmReceipt: { from: ["SHIPPED"], to: "COMPLETED" },
  startRefund: { from: ["PAID", "SHIPPED"], to: "REFUNDING" },
  finishRefund: { from: ["REFUNDING"], to: "REFUNDED" },
} as const satisfies Record<string, { from: readonly OrderStatus[]; to: OrderStatus }>;
export type OrderAction = keyof typeof OrderAction;

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from]?.includes(to) ?? false;
}

export function nextStatuses(from: OrderStatus): readonly OrderStatus[] {
  return NEXT[from] ?? [];
}

/** The status `action` leads to from `from`, or null when the move is illegal. */
export function apply(from: OrderStatus, action: OrderAction): OrderStatus | null {
  const a = OrderAction[action];
  return (a.from as readonly OrderStatus[]).includes(from) && canTransition(from, a.to) ? a.to : null;
}

export function isFinal(status: OrderStatus): boolean {
  return NEXT[status].length === 0;
}

/** After-sales requests have their own small machine. */
export type AfterSaleStatus = "REQUESTED" | "APPROVED" | "REJECTED" | "COMPLETED";
const AFTER_SALE_NEXT: Record<AfterSaleStatus, readonly AfterSaleStatus[]> = {
  REQUESTED: ["APPROVED", "REJECTED"],
  APPROVED: ["COMPLETED"],
  REJECTED: [],
  COMPLETED: [],
};

export function canAfterSaleTransition(from: AfterSaleStatus, to: AfterSaleStatus): boolean {
  return AFTER_SALE_NEXT[from]?.includes(to) ?? false;
}

/** Orders that may still get an after-sales request. */
export function afterSaleAllowed(status: OrderStatus): boolean {
  return apply(status, "startRefund") !== null;
}
