import type { BaseContext } from "@mallgraph/platform/access";
import type { LotteryServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: LotteryServices;
}
