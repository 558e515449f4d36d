/**
 * The member subgraph: builds its services from configuration and serves them.
 * `createMemberSubgraph` is what tests call (with a throwaway schema and Redis prefix);
 * running this file directly starts it with the environment's configuration.
 */
import { readFileSync } from "node:fs";
import { loadConfig, domainDatabaseUrl, type Config } from "@mallgraph/platform/config";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { logger } from "@mallgraph/platform/log";
import { PrismaClient } from "./generated/prisma/client.ts";
import type { MemberServices } from "./services/index.ts";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface MemberSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to DATABASE_URL with schema "member". */
  databaseUrl?: string;
  port?: number;
}

export async function createMemberServices(opts: MemberSubgraphOptions): Promise<MemberServices> {
  const prisma = new PrismaClient({ adapter: runtimeAdapter(opts.databaseUrl ?? domainDatabaseUrl(opts.config.DATABASE_URL, "member")) });
  return { prisma };
}

export async function createMemberSubgraph(opts: MemberSubgraphOptions): Promise<RunningSubgraph & { services: MemberServices }> {
  const services = await createMemberServices(opts);
  const running = await startSubgraph<Context>({
    name: "member",
    typeDefs,
    resolvers,
    port: opts.port ?? opts.config.MEMBER_PORT,
    host: opts.config.SERVICE_HOST,
    internalSecret: opts.config.INTERNAL_SECRET,
    context: (base) => ({ ...base, services }),
    ready: async () => {
      await services.prisma.$queryRaw`SELECT 1`;
    },
  });
  return {
    ...running,
    services,
    stop: async () => {
      await running.stop();
      await services.prisma.$disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  createMemberSubgraph({ config }).catch((e) => {
    logger("member").fatal({ err: e }, "member subgraph failed to start");
    process.exit(1);
  });
}
