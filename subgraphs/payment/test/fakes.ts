/**
 * Small REAL in-process subgraphs standing in for order and member (built concurrently by other
 * engineers): the internal fields payment calls (docs/service-contracts.md) over in-memory state.
 */
import { internalFields } from "@mallgraph/platform/access";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { Decimal } from "@mallgraph/platform/money";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";

/** The fake's caller table (the real subgraph's names more callers). */
const asInternal = internalFields({
  walletFreeze: ["payment"],
  walletUnfreeze: ["payment"],
  walletCaptureFrozen: ["payment"],
  walletCredit: ["payment"],
  walletTopUp: ["payment"],
  walletPayOut: ["payment"],
  orderForPayment: ["payment"],
  orderMarkPaid: ["payment"],
  orderMarkRefunded: ["payment"],
});
const WALLET_FIELDS = {
  freeze: "walletFreeze",
  unfreeze: "walletUnfreeze",
  capture: "walletCaptureFrozen",
  credit: "walletCredit",
  topup: "walletTopUp",
  payout: "walletPayOut",
} as const;

const typeDefs = /* GraphQL */ `
  type OrderPaymentInfo {
    id: ID!
    orderNo: String!
    buyerId: ID!
    status: String!
    payable: String!
    currency: String!
    subject: String!
  }
  type OrderTransitionResult {
    code: String!
    status: String
  }
  type WalletOpResult {
    code: String!
    balance: String
    frozen: String
  }
  type Query {
    orderForPayment(id: ID!): OrderPaymentInfo
  }
  type Mutation {
    orderMarkPaid(orderId: ID!, paymentId: ID!, channel: String!): OrderTransitionResult!
    orderMarkRefunded(orderId: ID!, refundId: ID!, amount: String!, reference: String): OrderTransitionResult!
    walletFreeze(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
    walletUnfreeze(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
    walletCaptureFrozen(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
    walletCredit(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
    walletTopUp(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
    walletPayOut(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
  }
`;

export interface FakeOrder {
  id: string;
  orderNo: string;
  buyerId: string;
  status: string;
  payable: string;
  currency: string;
  subject: string;
  paidBy?: string;
}

export interface FakeState {
  orders: Map<string, FakeOrder>;
  markPaidCalls: Array<{ orderId: string; paymentId: string; channel: string }>;
  markRefundedCalls: Array<{ orderId: string; refundId: string; amount: string; reference?: string }>;
  /** Refunds the order booked, by refund id (the real order books each refund id once). */
  bookedRefunds: Map<string, string>;
  wallets: Map<string, { balance: Decimal; frozen: Decimal }>;
  walletCalls: Array<{ op: string; memberId: string; amount: string; reference: string }>;
  captured: Decimal;
  credited: Decimal;
  toppedUp: Decimal;
  paidOut: Decimal;
  failCapture: boolean;
  /** The capture takes effect but its answer is lost (the call fails). */
  captureThenFail: boolean;
  /** orderMarkPaid fails this many times before answering (retry test). */
  markPaidFailures: number;
  /** walletFreeze takes effect but its answer is lost (the call fails) this many times (payout retry test). */
  freezeThenFail: number;
  /** Called before orderForPayment answers (a test changes the order there, as a concurrent request would). */
  onOrderForPayment?: (id: string) => void;
}

export function fakeState(): FakeState {
  return {
    orders: new Map(),
    markPaidCalls: [],
    markRefundedCalls: [],
    bookedRefunds: new Map(),
    wallets: new Map(),
    walletCalls: [],
    captured: new Decimal(0),
    credited: new Decimal(0),
    toppedUp: new Decimal(0),
    paidOut: new Decimal(0),
    failCapture: false,
    captureThenFail: false,
    markPaidFailures: 0,
    freezeThenFail: 0,
  };
}

export async function startFakeDeps(secret: string, state: FakeState): Promise<RunningSubgraph> {
  const done = new Set<string>();
  const wallet = (op: keyof typeof WALLET_FIELDS, fn: (w: { balance: Decimal; frozen: Decimal }, amount: Decimal) => string) =>
    asInternal(WALLET_FIELDS[op], (_p: unknown, a: { memberId: string; currency: string; amount: string; reference: string }) => {
      state.walletCalls.push({ op, memberId: a.memberId, amount: a.amount, reference: a.reference });
      const w = state.wallets.get(`${a.memberId}:${a.currency}`);
      if (!w) return { code: "NO_ACCOUNT" };
      const key = `${op}:${a.reference}`;
      if (done.has(key)) return { code: "OK", balance: w.balance.toFixed(2), frozen: w.frozen.toFixed(2) };
      const code = fn(w, new Decimal(a.amount));
      if (code === "OK") done.add(key);
      return { code, balance: w.balance.toFixed(2), frozen: w.frozen.toFixed(2) };
    });
  const captureOp = wallet("capture", (w, x) => {
    if (state.failCapture) return "UNAVAILABLE";
    if (w.frozen.lt(x)) return "INSUFFICIENT_BALANCE";
    w.frozen = w.frozen.minus(x);
    state.captured = state.captured.plus(x);
    return "OK";
  });
  const freezeOp = wallet("freeze", (w, x) => {
    if (w.balance.lt(x)) return "INSUFFICIENT_BALANCE";
    w.balance = w.balance.minus(x);
    w.frozen = w.frozen.plus(x);
    return "OK";
  });
  return startSubgraph({
    name: "fake-order-member",
    typeDefs,
    port: 0,
    internalSecret: secret,
    context: (base) => base,
    resolvers: {
      Query: {
        orderForPayment: asInternal("orderForPayment", (_p: unknown, { id }: { id: string }) => {
          state.onOrderForPayment?.(id);
          return state.orders.get(id) ?? null;
        }),
      },
      Mutation: {
        orderMarkPaid: asInternal("orderMarkPaid", (_p: unknown, a: { orderId: string; paymentId: string; channel: string }) => {
          state.markPaidCalls.push(a);
          if (state.markPaidFailures > 0) {
            state.markPaidFailures--;
            throw new Error("order subgraph hiccup");
          }
          const o = state.orders.get(a.orderId)!;
          if (o.status === "PAID" && o.paidBy === a.paymentId) return { code: "OK", status: "PAID" };
          if (o.status !== "PENDING_PAYMENT") return { code: "INVALID_STATE", status: o.status };
          o.status = "PAID";
          o.paidBy = a.paymentId;
          return { code: "OK", status: "PAID" };
        }),
        orderMarkRefunded: asInternal(
          "orderMarkRefunded",
          (_p: unknown, a: { orderId: string; refundId: string; amount: string; reference?: string }) => {
            state.markRefundedCalls.push(a);
            if (!state.bookedRefunds.has(a.refundId)) state.bookedRefunds.set(a.refundId, a.amount);
            const o = state.orders.get(a.orderId)!;
            o.status = "REFUNDED";
            return { code: "OK", status: "REFUNDED" };
          },
        ),
        walletFreeze: (p: unknown, a: any, ctx: any, i: any) => {
          const r = freezeOp(p, a, ctx, i);
          if (state.freezeThenFail > 0 && r.code === "OK") {
            state.freezeThenFail--;
            throw new Error("connection reset after freeze");
          }
          return r;
        },
        walletUnfreeze: wallet("unfreeze", (w, x) => {
          if (w.frozen.lt(x)) return "INSUFFICIENT_BALANCE";
          w.frozen = w.frozen.minus(x);
          w.balance = w.balance.plus(x);
          return "OK";
        }),
        walletCaptureFrozen: (p: unknown, a: any, ctx: any, i: any) => {
          const r = captureOp(p, a, ctx, i);
          if (state.captureThenFail && r.code === "OK") {
            state.captureThenFail = false;
            throw new Error("connection reset after capture");
          }
          return r;
        },
        walletCredit: wallet("credit", (w, x) => {
          w.balance = w.balance.plus(x);
          state.credited = state.credited.plus(x);
          return "OK";
        }),
        walletTopUp: wallet("topup", (w, x) => {
          w.balance = w.balance.plus(x);
          state.toppedUp = state.toppedUp.plus(x);
          return "OK";
        }),
        walletPayOut: wallet("payout", (w, x) => {
          if (w.frozen.lt(x)) return "INSUFFICIENT_FROZEN";
          w.frozen = w.frozen.minus(x);
          state.paidOut = state.paidOut.plus(x);
          return "OK";
        }),
      },
    },
  });
}

export function client(url: string, secret: string) {
  return async function gql<T = any>(
    query: string,
    variables: Record<string, unknown> = {},
    identity?: Identity,
  ): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(identity ? { "x-mg-identity": signIdentity(secret, identity) } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return res.json() as any;
  };
}
