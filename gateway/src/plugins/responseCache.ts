/**
 * Whole-response cache (an Apollo Server plugin rather than a gateway hook, because it needs the
 * cache policy the gateway computes from the subgraphs' `cache-control` headers). Subgraphs declare
 * what may be cached with `@cacheControl` hints in their SDL (catalog: product detail, search,
 * categories — stock for 2 s); a response is cached only when every part of it allows it, for at
 * most the smallest max-age, in this gateway's memory (Apollo Server's bounded in-memory cache).
 *
 * Scopes (Apollo's): an answer whose every part is PUBLIC is the same for every caller of its kind:
 *   - anonymous callers share the anonymous public answers;
 *   - members share the members' public answers (a separate partition: the identity kind is part of
 *     every key, so an answer produced for a member never reaches an anonymous caller or the reverse);
 *   - an answer with any PRIVATE part is cached for the member's own session only (key: the session
 *     id) and is never read by anyone else; an anonymous caller's PRIVATE answer is not cached.
 * Operators (admin realm) neither read nor write it: they see drafts and permission-dependent data.
 * Mutations and answers with errors are never cached (the plugin's rules). `GATEWAY_RESPONSE_CACHE=off`
 * leaves the plugin out. See docs/decisions/0023-response-cache-for-members.md.
 */
import type { ApolloServerPlugin } from "@apollo/server";
import responseCachePluginModule from "@apollo/server-plugin-response-cache";
import type { GatewayContext } from "./types.ts";

const responseCachePlugin: typeof responseCachePluginModule =
  (responseCachePluginModule as unknown as { default?: typeof responseCachePluginModule }).default ?? responseCachePluginModule;

type Rc = { contextValue: GatewayContext };

export function responseCache(): ApolloServerPlugin<GatewayContext> {
  const cacheable = async (rc: Rc) => rc.contextValue.identity.kind === "anonymous" || rc.contextValue.identity.kind === "member";
  return responseCachePlugin<GatewayContext>({
    shouldReadFromCache: cacheable,
    shouldWriteToCache: cacheable,
    // Members: PRIVATE answers under their session, PUBLIC ones in the members' shared partition.
    sessionId: async (rc: Rc) => (rc.contextValue.identity.kind === "member" ? (rc.contextValue.identity.sessionId ?? null) : null),
    extraCacheKeyData: async (rc: Rc) => rc.contextValue.identity.kind,
  }) as ApolloServerPlugin<GatewayContext>;
}
