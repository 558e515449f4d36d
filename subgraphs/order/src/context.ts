import type { BaseContext } from "@mallgraph/platform/access";
import DataLoader from "dataloader";
import type { OrderServices } from "./services/index.ts";
import type { OrderRecord } from "./services/types.ts";

export interface Context extends BaseContext {
  services: OrderServices;
  /** Per-request loader of orders by id (entity references, event payloads, after-sales). */
  orderLoader: DataLoader<string, OrderRecord | null>;
}

export function createContext(base: BaseContext, services: OrderServices): Context {
  return { ...base, services, orderLoader: new DataLoader((ids) => services.orders.getMany(ids)) };
}
