/** The BullMQ processors of the lottery queues (jobs are verbs; see src/worker.ts for the queues). */
import type { LotteryServices } from "../services/index.ts";

export function lotteryProcessors(services: LotteryServices) {
  return {
    rain: async (job: { name: string; data: any }) => {
      if (job.name === "close-rain") return (await services.rain.close(job.data.rainId)).status;
      if (job.name === "sweep") return services.rain.sweep();
      return services.rain.creditGrab(job.data);
    },
    awards: async (job: { name: string; data: any; attemptsMade: number; opts: { attempts?: number } }) => {
      if (job.name === "sync-stock") return services.draws.syncStock(job.data.awardId);
      if (job.name === "sweep") return services.delivery.sweep();
      // The job's last attempt: a failure makes the draw FAILED (operators retry it).
      return services.delivery.run(job.data.orderId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
    },
  };
}
