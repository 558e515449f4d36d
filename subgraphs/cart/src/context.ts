import type { BaseContext } from "@mallgraph/platform/access";
import type { CartServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: CartServices;
}
