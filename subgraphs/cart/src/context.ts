import type { BaseContext } from "@mallgraph/platform/access";
import type { CartServices } from "./services/index.ts";
import type { QuoteMemo } from "./services/pricing.ts";

export interface Context extends BaseContext {
  services: CartServices;
  /** Promotion quotes of this request (services/pricing.ts). */
  quotes: QuoteMemo;
}
