/** The BullMQ processors of the lottery queues (jobs are verbs; see src/worker.ts for the queues). */
import { jobField as id } from "@mallgraph/platform/queue";
import type { LotteryServices } from "../services/index.ts";
import type { CreditGrabJob } from "../services/rain.ts";

/** What the lottery's producers put in a job: the ids the verb needs. */
type Ids = { rainId?: string; awardId?: string; orderId?: string };

export function lotteryProcessors(services: LotteryServices) {
  return {
    rain: async (job: { name: string; data: Ids | CreditGrabJob }) => {
      if (job.name === "close-rain") return (await services.rain.close(id(job.data, "rainId"))).status;
      if (job.name === "sweep") return services.rain.sweep();
      return services.rain.creditGrab(job.data as CreditGrabJob);
    },
    awards: async (job: { name: string; data: Ids; attemptsMade: number; opts: { attempts?: number } }) => {
      if (job.name === "sync-stock") return services.draws.syncStock(id(job.data, "awardId"));
      if (job.name === "sweep") return services.delivery.sweep();
      // The job's last attempt: a failure makes the draw FAILED (operators retry it).
      return services.delivery.run(id(job.data, "orderId"), job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
    },
  };
}
