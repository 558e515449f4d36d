/**
 * The member domain's port to promotion: NEW_USER coupons at registration. The adapter calls
 * promotion's internal `couponIssueNewUser(memberId): Int!` (idempotent: one set of NEW_USER coupons
 * per member) directly, with a signed service identity (docs/service-contracts.md, promotion).
 */
import type { Keys } from "@mallgraph/platform/auth";
import { COUPON_ISSUE_NEW_USER_MUTATION, type CouponIssueNewUserAnswer } from "@mallgraph/platform/contracts/promotion";
import { createServiceClient } from "@mallgraph/platform/service-client";

export interface NewUserCoupons {
  /** Issues the member's NEW_USER coupons; answers how many were issued now (0 when already issued). Throws when promotion does not answer. */
  issue(memberId: string): Promise<number>;
}

export function promotionNewUserCoupons(opts: { url: string; secret: Keys; timeoutMs?: number }): NewUserCoupons {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "member", timeoutMs: opts.timeoutMs ?? 10_000 });
  return {
    async issue(memberId) {
      const d = await client.request<CouponIssueNewUserAnswer>(COUPON_ISSUE_NEW_USER_MUTATION, { memberId });
      return d.couponIssueNewUser;
    },
  };
}
