/**
 * The member domain's port to order: whether a member still has open orders (account closure). The
 * adapter calls order's internal `memberOpenOrders(memberId): Int!` with a signed service identity.
 */
import { createServiceClient } from "@mallgraph/platform/service-client";
import type { Keys } from "@mallgraph/platform/auth";

export interface MemberOrders {
  /** Orders of the member not done with (unpaid, paid, shipped, refunding, after-sales under way). Throws when order does not answer. */
  openCount(memberId: string): Promise<number>;
}

const OPEN_ORDERS = `query($memberId: ID!) { memberOpenOrders(memberId: $memberId) }`;

export function orderMemberOrders(opts: { url: string; secret: Keys; timeoutMs?: number }): MemberOrders {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "member", timeoutMs: opts.timeoutMs ?? 10_000 });
  return {
    async openCount(memberId) {
      return (await client.request<{ memberOpenOrders: number }>(OPEN_ORDERS, { memberId })).memberOpenOrders;
    },
  };
}
