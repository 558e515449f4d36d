/** The lottery subgraph: red-envelope rain, draws, points and the daily sign-in rebate. */
import { serviceKeys } from "@mallgraph/platform/auth";
import { readFileSync } from "node:fs";
import { loadConfig } from "@mallgraph/platform/config";
import { startSubgraph, runSubgraphMain, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { createLotteryServices, type LotteryServiceOptions, type LotteryServices } from "./services/index.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface LotterySubgraphOptions extends LotteryServiceOptions {
  port?: number;
}

export async function createLotterySubgraph(opts: LotterySubgraphOptions): Promise<RunningSubgraph & { services: LotteryServices }> {
  const services = createLotteryServices(opts);
  const running = await startSubgraph<Context>({
    name: "lottery",
    typeDefs,
    resolvers,
    port: opts.port ?? opts.config.LOTTERY_PORT,
    host: opts.config.SERVICE_HOST,
    internalSecret: serviceKeys(opts.config),
    context: (base) => ({ ...base, services }),
    ready: async () => {
      await services.prisma.$queryRaw`SELECT 1`;
      await services.redis.ping();
    },
  });
  return {
    ...running,
    services,
    stop: async () => {
      await running.stop();
      await services.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("lottery", () => createLotterySubgraph({ config: loadConfig() }));
