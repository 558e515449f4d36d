/** Builds every catalog service from its dependencies. */
import type { AuditLog } from "@mallgraph/platform/audit";
import { serviceKeys } from "@mallgraph/platform/auth";
import { subgraphUrl, type Config } from "@mallgraph/platform/config";
import type { OutboxRelay } from "@mallgraph/platform/outbox";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { keyFor } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { ElasticsearchBackend } from "../search/elasticsearch.ts";
import { PostgresSearchBackend } from "../search/postgres.ts";
import { SearchService } from "../search/service.ts";
import type { SearchBackend } from "../search/types.ts";
import { PromotionCampaignScopeSource, type CampaignScopeSource } from "./campaigns.ts";
import { CategoryService } from "./categories.ts";
import type { Deps } from "./deps.ts";
import { InventoryService } from "./inventory.ts";
import { ProductService } from "./products.ts";
import { OrderServicePurchaseVerifier, type PurchaseVerifier } from "./purchases.ts";
import { ReviewService } from "./reviews.ts";
import { PromotionSeckillSkuSource, type SeckillSkuSource } from "./seckill.ts";
import { TaxonomyService } from "./taxonomy.ts";

export interface CatalogServices {
  deps: Deps;
  prisma: PrismaClient;
  /** Closes the pool the Prisma client shares with plain SQL (after its $disconnect); absent when none. */
  endSql?: () => Promise<void>;
  redis: Redis;
  categories: CategoryService;
  taxonomy: TaxonomyService;
  products: ProductService;
  inventory: InventoryService;
  reviews: ReviewService;
  search: SearchService;
  /** The operator audit trail (entries go to the outbox, relayed to member's trail); set by createCatalogServices. */
  audit?: AuditLog;
  /** The outbox relay (audit entries) and its queues; the worker runs it. */
  outbox?: { relay: OutboxRelay; close: () => Promise<void> };
}

/** The search backend config.SEARCH_BACKEND names. */
export function createSearchBackend(config: Config, prisma: PrismaClient, prefix = config.REDIS_PREFIX): SearchBackend {
  if (config.SEARCH_BACKEND === "elasticsearch") {
    if (!config.ELASTICSEARCH_URL) throw new Error("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL");
    return ElasticsearchBackend.fromUrl(config.ELASTICSEARCH_URL, `${prefix.toLowerCase()}-catalog-products`);
  }
  return new PostgresSearchBackend(prisma);
}

export function buildCatalogServices(opts: {
  config: Config;
  prisma: PrismaClient;
  /** Plain SQL on the Prisma client's pool (decision 0035); default: the Prisma client's raw API. */
  sql?: PgSql;
  redis: Redis;
  searchBackend?: SearchBackend;
  purchaseVerifier?: PurchaseVerifier;
  seckillSource?: SeckillSkuSource;
  campaignSource?: CampaignScopeSource;
}): CatalogServices {
  const deps: Deps = {
    prisma: opts.prisma,
    sql: opts.sql ?? opts.prisma,
    redis: opts.redis,
    keys: keyFor(opts.config.REDIS_PREFIX, "catalog"),
    config: opts.config,
  };
  const categories = new CategoryService(deps);
  const products = new ProductService(deps, categories);
  const promotion = { url: subgraphUrl(opts.config, "promotion"), secret: serviceKeys(opts.config) };
  const verifier =
    opts.purchaseVerifier ?? new OrderServicePurchaseVerifier({ url: subgraphUrl(opts.config, "order"), secret: serviceKeys(opts.config) });
  return {
    deps,
    prisma: opts.prisma,
    redis: opts.redis,
    categories,
    taxonomy: new TaxonomyService(
      deps,
      categories,
      products.cache,
      opts.seckillSource ?? new PromotionSeckillSkuSource(promotion),
      opts.campaignSource ?? new PromotionCampaignScopeSource(promotion),
    ),
    products,
    inventory: new InventoryService(deps, products.live),
    reviews: new ReviewService(deps, verifier),
    search: new SearchService(deps, categories, opts.searchBackend ?? createSearchBackend(opts.config, opts.prisma)),
  };
}
