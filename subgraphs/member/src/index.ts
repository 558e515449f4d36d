/**
 * The member subgraph: members, sessions and tokens, operators (RBAC), wallets, addresses and the
 * message center. `createMemberSubgraph` is what tests call (with a throwaway schema and Redis
 * prefix); running this file directly starts it with the environment's configuration.
 * Serves the access-token public keys at GET /.well-known/jwks.json (the gateway fetches them).
 */
import { readFileSync } from "node:fs";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import type { Context } from "./context.ts";
import { createLoaders } from "./loaders.ts";
import { resolvers } from "./resolvers/index.ts";
import { buildMemberServices, type MemberServices } from "./services/index.ts";
import type { MemberLottery, MemberOrders } from "./services/orders.ts";
import type { SmsOptions } from "./services/sms.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface MemberSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to MEMBER_DATABASE_URL (else DATABASE_URL) with schema "member". */
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

export const createMemberSubgraph = defineSubgraph({
  name: "member",
  typeDefs,
  resolvers,
  services: createMemberServices,
  close: (services) => services.close(),
  // the compiled fast path (decision 0010): the address read of every order placement is one call
  // here (decision 0046); sessions revoked by a resolver are still collected for the gateway
  server: { fastPath: true },
  context: (base, services): Context => ({ ...base, services, loaders: createLoaders(services), loggedInAs: new Set<string>() }),
  beforeStart: (services) => services.partners.remirror(), // a Redis that lost the partner keys' mirror gets it back
  routes: (services) => {
    const jwks = JSON.stringify({ keys: [services.signingKey.publicJwk] });
    return {
      "GET /.well-known/jwks.json": (_req, _body, res) => {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=300" }).end(jwks);
      },
    };
  },
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("member", () => createMemberSubgraph({ config: loadConfig() }));
