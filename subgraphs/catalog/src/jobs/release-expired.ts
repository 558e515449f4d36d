/** Job `release-expired` of queue `inventory-reservations`: gives back stock of timed-out reservations. */
import type { Job } from "bullmq";
import type { CatalogServices } from "../services/index.ts";

export function releaseExpiredProcessor(s: CatalogServices) {
  return async (_job: Job) => {
    let released = 0;
    for (let i = 0; i < 20; i++) {
      const n = await s.inventory.releaseExpired(500);
      released += n;
      if (n < 500) break;
    }
    return { released };
  };
}
