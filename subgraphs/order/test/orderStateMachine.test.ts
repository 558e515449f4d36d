import { describe, expect, it } from "vitest";
import {
  apply,
  canTransition,
  canAfterSaleTransition,
  afterSaleAllowed,
  isFinal,
  ORDER_STATUSES,
  OrderAction,
  type OrderStatus,
} from "../src/services/orderStateMachine.ts";

const LEGAL: Array<[OrderStatus, OrderStatus]> = [
  ["PENDING_PAYMENT", "PAID"],
  ["PENDING_PAYMENT", "CANCELLED"],
  ["PAID", "SHIPPED"],
  ["SHIPPED", "COMPLETED"],
  ["PAID", "REFUNDING"],
  ["SHIPPED", "REFUNDING"],
  ["REFUNDING", "REFUNDED"],
];

describe("order state machine (pure)", () => {
  it("allows exactly the documented transitions", () => {
    for (const from of ORDER_STATUSES)
      for (const to of ORDER_STATUSES) {
        const legal = LEGAL.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} → ${to}`).toBe(legal);
      }
  });

  it("applies named actions only from their start statuses", () => {
    expect(apply("PENDING_PAYMENT", "pay")).toBe("PAID");
    expect(apply("PENDING_PAYMENT", "cancel")).toBe("CANCELLED");
    expect(apply("PENDING_PAYMENT", "timeout")).toBe("CANCELLED");
    expect(apply("PAID", "ship")).toBe("SHIPPED");
    expect(apply("SHIPPED", "confirmReceipt")).toBe("COMPLETED");
    expect(apply("PAID", "startRefund")).toBe("REFUNDING");
    expect(apply("SHIPPED", "startRefund")).toBe("REFUNDING");
    expect(apply("REFUNDING", "finishRefund")).toBe("REFUNDED");
    // illegal moves
    expect(apply("PAID", "cancel")).toBeNull();
    expect(apply("CANCELLED", "pay")).toBeNull();
    expect(apply("CANCELLED", "cancel")).toBeNull();
    expect(apply("PENDING_PAYMENT", "ship")).toBeNull();
    expect(apply("PAID", "confirmReceipt")).toBeNull();
    expect(apply("COMPLETED", "startRefund")).toBeNull();
    expect(apply("PENDING_PAYMENT", "startRefund")).toBeNull();
    expect(apply("REFUNDED", "finishRefund")).toBeNull();
    for (const a of Object.keys(OrderAction) as Array<keyof typeof OrderAction>)
      for (const s of ORDER_STATUSES) {
        const to = apply(s, a);
        if (to) expect(canTransition(s, to)).toBe(true);
      }
  });

  it("knows the final statuses", () => {
    expect(ORDER_STATUSES.filter(isFinal).sort()).toEqual(["CANCELLED", "COMPLETED", "REFUNDED"]);
  });

  it("after-sales requests: REQUESTED → APPROVED | REJECTED, APPROVED → COMPLETED", () => {
    expect(canAfterSaleTransition("REQUESTED", "APPROVED")).toBe(true);
    expect(canAfterSaleTransition("REQUESTED", "REJECTED")).toBe(true);
    expect(canAfterSaleTransition("APPROVED", "COMPLETED")).toBe(true);
    expect(canAfterSaleTransition("REJECTED", "APPROVED")).toBe(false);
    expect(canAfterSaleTransition("COMPLETED", "REQUESTED")).toBe(false);
    expect(canAfterSaleTransition("REQUESTED", "COMPLETED")).toBe(false);
    expect(ORDER_STATUSES.filter(afterSaleAllowed).sort()).toEqual(["PAID", "SHIPPED"]);
  });
});
