/**
 * The member domain's ports to order and lottery: whether a member still has open orders (account
 * closure), and what those domains hold of the member (data export). The adapters call the internal
 * fields `memberOpenOrders(memberId): Int!`, `memberOrdersExport(memberId): String!` (order) and
 * `memberLotteryExport(memberId): String!` (lottery) with a signed service identity.
 */
import type { Keys } from "@mallgraph/platform/auth";
import { MEMBER_LOTTERY_EXPORT_QUERY, type MemberLotteryExportAnswer } from "@mallgraph/platform/contracts/lottery";
import {
  MEMBER_OPEN_ORDERS_QUERY,
  MEMBER_ORDERS_EXPORT_QUERY,
  type MemberOpenOrdersAnswer,
  type MemberOrdersExportAnswer,
} from "@mallgraph/platform/contracts/order";
import { createServiceClient } from "@mallgraph/platform/service-client";

export interface MemberOrders {
  /** Orders of the member not done with (unpaid, paid, shipped, refunding, after-sales under way). Throws when order does not answer. */
  openCount(memberId: string): Promise<number>;
  /** The member's orders as order exports them (JSON values). Throws when order does not answer. */
  exportOrders(memberId: string): Promise<unknown[]>;
}

export interface MemberLottery {
  /** The member's draws, red envelopes and points as lottery exports them. Throws when lottery does not answer. */
  exportLottery(memberId: string): Promise<Record<string, unknown>>;
}

type PortOptions = { url: string; secret: Keys; timeoutMs?: number };
const clientOf = (opts: PortOptions) =>
  createServiceClient({ url: opts.url, secret: opts.secret, service: "member", timeoutMs: opts.timeoutMs ?? 10_000 });

export function orderMemberOrders(opts: PortOptions): MemberOrders {
  const client = clientOf(opts);
  return {
    async openCount(memberId) {
      return (await client.request<MemberOpenOrdersAnswer>(MEMBER_OPEN_ORDERS_QUERY, { memberId })).memberOpenOrders;
    },
    async exportOrders(memberId) {
      return JSON.parse(
        (await client.request<MemberOrdersExportAnswer>(MEMBER_ORDERS_EXPORT_QUERY, { memberId })).memberOrdersExport,
      ) as unknown[];
    },
  };
}

export function lotteryMemberData(opts: PortOptions): MemberLottery {
  const client = clientOf(opts);
  return {
    async exportLottery(memberId) {
      return JSON.parse(
        (await client.request<MemberLotteryExportAnswer>(MEMBER_LOTTERY_EXPORT_QUERY, { memberId })).memberLotteryExport,
      ) as Record<string, unknown>;
    },
  };
}
