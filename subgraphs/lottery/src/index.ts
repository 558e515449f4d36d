/** The lottery subgraph: red-envelope rain, draws, points and the daily sign-in rebate. */
import { readFileSync } from "node:fs";
import { loadConfig } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import type { Context } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { createLotteryServices, type LotteryServiceOptions } from "./services/index.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface LotterySubgraphOptions extends LotteryServiceOptions {
  port?: number;
}

export const createLotterySubgraph = defineSubgraph({
  name: "lottery",
  typeDefs,
  resolvers,
  services: createLotteryServices,
  close: (services) => services.close(),
  context: (base, services): Context => ({ ...base, services }),
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("lottery", () => createLotterySubgraph({ config: loadConfig() }));
