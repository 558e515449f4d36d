/**
 * Hive Gateway configuration for the peer comparison of bench/gateway.ts: stock settings; the
 * supergraph comes from the command line. The only addition: a client's `x-mg-identity` header
 * (signed by the benchmark itself) is passed to the subgraphs, so that operations that need a
 * member (an order) can run through a peer that has no auth of its own.
 */
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const identity = request.headers.get("x-mg-identity");
      return identity ? { "x-mg-identity": identity } : {};
    },
  },
});
