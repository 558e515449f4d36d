/**
 * The member subgraph: members, sessions and tokens, operators (RBAC), wallets, addresses and the
 * message center. `createMemberSubgraph` is what tests call (with a throwaway schema and Redis
 * prefix); running this file directly starts it with the environment's configuration.
 * Serves the access-token public keys at GET /.well-known/jwks.json (the gateway fetches them).
 */
import { serviceKeys } from "@mallgraph/platform/auth";
import { readFileSync } from "node:fs";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { startSubgraph, runSubgraphMain, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { buildMemberServices, type MemberServices } from "./services/index.ts";
import type { SmsOptions } from "./services/sms.ts";
import type { MemberLottery, MemberOrders } from "./services/orders.ts";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { createLoaders } from "./loaders.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface MemberSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to DATABASE_URL with schema "member". */
  databaseUrl?: string;
  port?: number;
  sms?: SmsOptions;
  /** Replaces the order adapter (account closure). */
  orders?: MemberOrders;
  lottery?: MemberLottery;
}

export async function createMemberServices(opts: MemberSubgraphOptions): Promise<MemberServices> {
  return buildMemberServices(opts.config, { databaseUrl: opts.databaseUrl, sms: opts.sms, orders: opts.orders, lottery: opts.lottery });
}

export async function createMemberSubgraph(opts: MemberSubgraphOptions): Promise<RunningSubgraph & { services: MemberServices }> {
  const services = await createMemberServices(opts);
  await services.partners.remirror(); // a Redis that lost the partner keys' mirror gets it back
  const jwks = JSON.stringify({ keys: [services.signingKey.publicJwk] });
  let running: RunningSubgraph;
  try {
    running = await startSubgraph<Context>({
      name: "member",
      typeDefs,
      resolvers,
      port: opts.port ?? opts.config.MEMBER_PORT,
      host: opts.config.SERVICE_HOST,
      internalSecret: serviceKeys(opts.config),
      context: (base) => ({ ...base, services, loaders: createLoaders(services), loggedInAs: new Set<string>() }),
      routes: {
        "GET /.well-known/jwks.json": (_req, _body, res) => {
          res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=300" }).end(jwks);
        },
      },
      ready: async () => {
        await services.prisma.$queryRaw`SELECT 1`;
        await services.redis.ping();
      },
    });
  } catch (e) {
    await services.close();
    throw e;
  }
  return {
    ...running,
    services,
    stop: async () => {
      await running.stop();
      await services.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("member", () => createMemberSubgraph({ config: loadConfig() }));
