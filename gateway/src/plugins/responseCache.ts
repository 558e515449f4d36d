/**
 * Whole-response cache for anonymous queries (an Apollo Server plugin rather than a gateway hook,
 * because it needs the cache policy the gateway computes from the subgraphs' `cache-control`
 * headers). Subgraphs declare what may be cached with `@cacheControl` hints in their SDL (catalog:
 * product detail, search, categories — stock for 2 s); a response is cached only when every part
 * of it allows it, for at most the smallest max-age, in this gateway's memory (Apollo Server's
 * bounded in-memory cache).
 *
 * Only anonymous callers read or write it: whatever an anonymous caller may see is public, so no
 * permission- or member-dependent answer can leak between callers. Logged-in members always get a
 * fresh answer. See docs/decisions/0007-response-cache.md.
 */
import responseCachePluginModule from "@apollo/server-plugin-response-cache";
import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "./types.ts";

const responseCachePlugin: typeof responseCachePluginModule = (responseCachePluginModule as any).default ?? responseCachePluginModule;

export function responseCache(): ApolloServerPlugin<GatewayContext> {
  const anonymous = async (rc: { contextValue: GatewayContext }) => rc.contextValue.identity.kind === "anonymous";
  return responseCachePlugin<GatewayContext>({
    shouldReadFromCache: anonymous,
    shouldWriteToCache: anonymous,
  }) as ApolloServerPlugin<GatewayContext>;
}
