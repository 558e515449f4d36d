import type { BaseContext } from "@mallgraph/platform/access";
import type { CatalogServices } from "./services/index.ts";
import type { Loaders } from "./services/loaders.ts";

export interface Context extends BaseContext {
  services: CatalogServices;
  loaders: Loaders;
}
