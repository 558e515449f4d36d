import type { BaseContext } from "@mallgraph/platform/access";
import type { Loaders } from "./loaders.ts";
import type { MemberServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: MemberServices;
  loaders: Loaders;
  /** Members this request just logged in as (register/login answers show them their own fields). */
  loggedInAs: Set<string>;
}
