/** Processor of `coupon-issue`: `issue` grants one coupon per member (idempotent per batch and member, so retries are safe). */
import type { Job } from "bullmq";
import type { CouponService } from "../services/coupons.ts";

export function couponIssueProcessor(coupons: CouponService) {
  return async (job: Job<{ batchId: string; templateId: string; memberIds: string[] }>) => {
    if (job.name !== "issue") throw new Error(`unknown job ${job.name}`);
    return coupons.issueBatch(job.data.batchId, job.data.templateId, job.data.memberIds);
  };
}
