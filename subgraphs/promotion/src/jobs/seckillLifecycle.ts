/** Processor of `seckill-lifecycle`: the repeatable `tick` (sessions online/ended/settled, sweeper, order poll). */
import type { Job } from "bullmq";
import type { SeckillService } from "../services/seckill.ts";
import { SeckillJob } from "../services/seckill.ts";

export function seckillLifecycleProcessor(seckill: SeckillService) {
  return async (job: Job) => {
    if (job.name !== SeckillJob.tick) throw new Error(`unknown job ${job.name}`);
    return seckill.tick();
  };
}
