/** Processor of `coupon-expiry`: the daily `notify-expiring` run (services/coupon-expiry.ts). */
import type { Job } from "bullmq";
import type { CouponExpiryNotices } from "../services/coupon-expiry.ts";

export const NOTIFY_EXPIRING = "notify-expiring";

export function couponExpiryProcessor(notices: CouponExpiryNotices) {
  return async (job: Job) => {
    if (job.name !== NOTIFY_EXPIRING) throw new Error(`unknown job ${job.name}`);
    return { coupons: await notices.notify() };
  };
}
