/**
 * The cart subgraph (Redis only). `createCartSubgraph` is what tests call (random Redis prefix,
 * the catalog URL of a test double or the real catalog); running this file directly starts it with
 * the environment's configuration.
 */
import { readFileSync } from "node:fs";
import { serviceKeys } from "@mallgraph/platform/auth";
import { loadConfig, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { createRedis } from "@mallgraph/platform/redis";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { CartService } from "./services/cart.ts";
import type { CartServices } from "./services/index.ts";
import { catalogPort, promotionPort, type CatalogPort, type PromotionPort } from "./services/ports.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface CartSubgraphOptions {
  config: Config;
  port?: number;
  /** Overrides the catalog's URL (default: subgraphUrl(config, "catalog")). */
  catalogUrl?: string;
  /** Replaces the catalog port altogether. */
  catalog?: CatalogPort;
  /** Replaces the promotion port (default: the promotion subgraph at subgraphUrl(config, "promotion")). */
  promotion?: PromotionPort;
}

export function createCartServices(opts: CartSubgraphOptions): CartServices {
  const { config } = opts;
  const redis = createRedis(config.REDIS_URL);
  const catalog = opts.catalog ?? catalogPort(opts.catalogUrl ?? subgraphUrl(config, "catalog"), serviceKeys(config));
  const promotion = opts.promotion ?? promotionPort(subgraphUrl(config, "promotion"), serviceKeys(config));
  return { redis, catalog, promotion, cart: new CartService({ redis, prefix: config.REDIS_PREFIX, catalog }) };
}

export const createCartSubgraph = defineSubgraph({
  name: "cart",
  typeDefs,
  resolvers,
  services: createCartServices,
  close: async (services) => services.redis.disconnect(),
  context: (base, services): Context => ({ ...base, services, quotes: new Map() }),
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("cart", () => createCartSubgraph({ config: loadConfig() }));
