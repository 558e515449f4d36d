/**
 * The catalog subgraph: categories, brands, attributes, SPU/SKU, inventory, search, reviews.
 * `createCatalogSubgraph` is what tests call (with a throwaway schema and Redis prefix);
 * running this file directly starts it with the environment's configuration.
 */
import { readFileSync } from "node:fs";
import { auditedPrisma, outboxAuditSink } from "@mallgraph/platform/audit";
import { loadConfig, databaseUrlOf, type Config } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { runtimeAdapter, runtimeDb } from "@mallgraph/platform/prisma";
import { QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import type { Context } from "./context.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import { resolvers } from "./resolvers/index.ts";
import type { SearchBackend } from "./search/types.ts";
import type { CampaignScopeSource } from "./services/campaigns.ts";
import { buildCatalogServices, type CatalogServices } from "./services/index.ts";
import { createLoaders } from "./services/loaders.ts";
import type { PurchaseVerifier } from "./services/purchases.ts";
import type { SeckillSkuSource } from "./services/seckill.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface CatalogSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to CATALOG_DATABASE_URL (else DATABASE_URL) with schema "catalog". */
  databaseUrl?: string;
  port?: number;
  /** Test seams (real implementations by default). */
  purchaseVerifier?: PurchaseVerifier;
  searchBackend?: SearchBackend;
  seckillSource?: SeckillSkuSource;
  campaignSource?: CampaignScopeSource;
  /** Called for every SQL statement sent to PostgreSQL (tests count queries with it). */
  onQuery?: (sql: string) => void;
  poolSize?: number;
}

/** Wraps the driver adapter so every SQL statement is reported (query counting in tests). */
function countingAdapter(adapter: any, onQuery: (sql: string) => void) {
  const wrap = (q: any) => {
    for (const m of ["queryRaw", "executeRaw"]) {
      const orig = q[m].bind(q);
      q[m] = (query: { sql: string }) => {
        onQuery(query.sql);
        return orig(query);
      };
    }
    if (q.startTransaction) {
      const st = q.startTransaction.bind(q);
      q.startTransaction = async (...args: unknown[]) => wrap(await st(...args));
    }
    return q;
  };
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => wrap(await connect());
  return adapter;
}

type DbOptions = Pick<CatalogSubgraphOptions, "config" | "databaseUrl" | "onQuery" | "poolSize">;

export function createPrisma(opts: DbOptions): PrismaClient {
  const adapter = runtimeAdapter(opts.databaseUrl ?? databaseUrlOf(opts.config, "catalog"), opts.poolSize);
  return new PrismaClient({ adapter: opts.onQuery ? countingAdapter(adapter, opts.onQuery) : adapter });
}

/** The Prisma client and plain SQL on its pool (decision 0035), both reported to `onQuery`. */
function createDb(opts: DbOptions): { prisma: PrismaClient; sql: PgSql; end: () => Promise<void> } {
  const db = runtimeDb(opts.databaseUrl ?? databaseUrlOf(opts.config, "catalog"), opts.poolSize);
  const { onQuery } = opts;
  const prisma = new PrismaClient({ adapter: onQuery ? countingAdapter(db.adapter, onQuery) : db.adapter });
  const sql: PgSql = onQuery
    ? {
        $queryRawUnsafe: (q, ...v) => (onQuery(q), db.sql.$queryRawUnsafe(q, ...v)),
        $executeRawUnsafe: (q, ...v) => (onQuery(q), db.sql.$executeRawUnsafe(q, ...v)),
      }
    : db.sql;
  return { prisma, sql, end: db.end };
}

export async function createCatalogServices(opts: CatalogSubgraphOptions): Promise<CatalogServices> {
  const db = createDb(opts);
  const { prisma, log: audit } = auditedPrisma(db.prisma, "catalog", outboxAuditSink);
  const redis = createRedis(opts.config.REDIS_URL);
  const queues = outboxQueues({ redisUrl: opts.config.REDIS_URL, redisPrefix: opts.config.REDIS_PREFIX }, [QueueName.auditEntries]);
  const relay = new OutboxRelay({ db: prisma, queue: queues.queue, log: logger("catalog") });
  const services = buildCatalogServices({
    config: opts.config,
    prisma,
    sql: db.sql,
    redis,
    purchaseVerifier: opts.purchaseVerifier,
    searchBackend: opts.searchBackend,
    seckillSource: opts.seckillSource,
    campaignSource: opts.campaignSource,
  });
  return { ...services, audit, outbox: { relay, close: queues.close }, endSql: db.end };
}

export async function closeCatalogServices(s: CatalogServices): Promise<void> {
  await s.outbox?.close();
  await s.prisma.$disconnect();
  await s.endSql?.();
  s.redis.disconnect();
  const b = s.search.backend as { close?: () => Promise<void> };
  await b.close?.();
}

export const createCatalogSubgraph = defineSubgraph({
  name: "catalog",
  typeDefs,
  resolvers,
  services: createCatalogServices,
  close: closeCatalogServices,
  context: (base, services): Context => ({ ...base, services, loaders: createLoaders(services) }),
  server: { fastPath: true, revokesSessions: false },
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("catalog", () => createCatalogSubgraph({ config: loadConfig() }));
