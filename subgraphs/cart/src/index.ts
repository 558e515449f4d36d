/**
 * The cart subgraph (Redis only). `createCartSubgraph` is what tests call (random Redis prefix,
 * the catalog URL of a test double or the real catalog); running this file directly starts it with
 * the environment's configuration.
 */
import { serviceKeys } from "@mallgraph/platform/auth";
import { readFileSync } from "node:fs";
import { loadConfig, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { startSubgraph, runSubgraphMain, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createRedis } from "@mallgraph/platform/redis";
import type { Context } from "./context.ts";
import type { CartServices } from "./services/index.ts";
import { CartService } from "./services/cart.ts";
import { catalogPort, promotionPort, type CatalogPort, type PromotionPort } from "./services/ports.ts";
import { resolvers } from "./resolvers/index.ts";

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

export async function createCartSubgraph(opts: CartSubgraphOptions): Promise<RunningSubgraph & { services: CartServices }> {
  const services = createCartServices(opts);
  const running = await startSubgraph<Context>({
    name: "cart",
    typeDefs,
    resolvers,
    port: opts.port ?? opts.config.CART_PORT,
    host: opts.config.SERVICE_HOST,
    internalSecret: serviceKeys(opts.config),
    context: (base) => ({ ...base, services, quotes: new Map() }),
    ready: async () => {
      await services.redis.ping();
    },
  });
  return {
    ...running,
    services,
    stop: async () => {
      await running.stop();
      services.redis.disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("cart", () => createCartSubgraph({ config: loadConfig() }));
