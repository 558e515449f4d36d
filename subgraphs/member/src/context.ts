import type { BaseContext } from "@mallgraph/platform/access";
import type { MemberServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: MemberServices;
}
