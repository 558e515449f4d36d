/**
 * What lottery offers other domains: which coupon templates its live awards grant (promotion, before
 * a template is deactivated) and a member's lottery data (member's data export) — lottery
 * `schema.graphql`, the @inaccessible fields; docs/service-contracts.md. contracts.test.ts validates
 * the documents against lottery's SDL.
 */

/** `lotteryCouponTemplatesInUse(templateIds)`: the ids among these that COUPON awards of live activities grant. Variable `ids`. */
export const COUPON_TEMPLATES_IN_USE_QUERY = `query($ids: [ID!]!) { lotteryCouponTemplatesInUse(templateIds: $ids) }`;
export interface CouponTemplatesInUseAnswer {
  lotteryCouponTemplatesInUse: string[];
}

/** `memberLotteryExport(memberId)`: the member's draws, red envelopes and points, as JSON text. Variable `memberId`. */
export const MEMBER_LOTTERY_EXPORT_QUERY = `query($memberId: ID!) { memberLotteryExport(memberId: $memberId) }`;
export interface MemberLotteryExportAnswer {
  /** JSON of an object (draws, envelopes, points). */
  memberLotteryExport: string;
}
