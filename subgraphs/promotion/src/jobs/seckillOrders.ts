/** Processor of `seckill-orders`: `create-order` (jobId = reservationId) makes the SECKILL order. */
import type { Job } from "bullmq";
import type { SeckillService } from "../services/seckill.ts";
import { SeckillJob } from "../services/seckill.ts";

export function seckillOrdersProcessor(seckill: SeckillService) {
  return async (job: Job<{ reservationId?: string }>) => {
    if (job.name !== SeckillJob.createOrder || !job.data.reservationId) throw new Error(`unknown job ${job.name}`);
    return { status: await seckill.createOrder(job.data.reservationId) };
  };
}
