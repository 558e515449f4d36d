import type { Config } from "@mallgraph/platform/config";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import type { KeyFn, Redis } from "@mallgraph/platform/redis";
import type { PrismaClient, Prisma } from "../generated/prisma/client.ts";

export type Tx = Prisma.TransactionClient;

/** What every catalog service is built from. */
export interface Deps {
  prisma: PrismaClient;
  /**
   * Plain SQL for the statements of order placement (the live stock of a snapshot, the reservation):
   * the domain's pg pool (decision 0035), or the Prisma client's raw API where no pool is given.
   * Their queries read the same from both (integers through Number, instants through Date).
   */
  sql: PgSql;
  redis: Redis;
  /** `<prefix>:{catalog}:…` */
  keys: KeyFn;
  config: Config;
}

/** Adds a search-outbox row for each SPU, inside the caller's transaction. */
export async function touchSearch(tx: Tx, spuIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(spuIds)];
  if (ids.length) await tx.searchOutbox.createMany({ data: ids.map((spuId) => ({ spuId })) });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serializes writes to the category tree (transaction-scoped advisory lock). */
export async function lockTree(tx: Tx): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext('catalog:category-tree'))`);
}
