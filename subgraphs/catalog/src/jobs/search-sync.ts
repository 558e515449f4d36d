/** Job `sync` of queue `search-sync`: drains the search outbox into the configured backend. */
import type { Job } from "bullmq";
import { drainOutbox } from "../search/outbox.ts";
import type { CatalogServices } from "../services/index.ts";

export function searchSyncProcessor(s: CatalogServices) {
  return async (_job: Job) => {
    const processed = await drainOutbox({ prisma: s.prisma, redis: s.redis, keys: s.deps.keys, backend: s.search.backend });
    return { processed };
  };
}
