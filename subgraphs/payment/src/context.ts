import type { BaseContext } from "@mallgraph/platform/access";
import type { PaymentServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: PaymentServices;
}
