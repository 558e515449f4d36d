import type { BaseContext } from "@mallgraph/platform/access";
import type { PromotionServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: PromotionServices;
}

export function createContext(base: BaseContext, services: PromotionServices): Context {
  return { ...base, services };
}
