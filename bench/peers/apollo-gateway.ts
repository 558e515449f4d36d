/**
 * Stock `@apollo/gateway` + `@apollo/server` (standalone server) on the same supergraph, for the
 * peer comparison of bench/gateway.ts. Nothing tuned. The only addition: a client's
 * `x-mg-identity` header (signed by the benchmark itself) is passed to the subgraphs, so that
 * operations that need a member (an order) can run through a peer that has no auth of its own.
 *
 *   SUPERGRAPH=path PORT=4100 node --import tsx bench/peers/apollo-gateway.ts
 */
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

interface Ctx {
  identity?: string;
}

class IdentityDataSource extends RemoteGraphQLDataSource<Ctx> {
  override willSendRequest({ request, context }: { request: any; context: Ctx }) {
    if (context.identity) request.http?.headers.set("x-mg-identity", context.identity);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH!, "utf8"),
  buildService: ({ url }) => new IdentityDataSource({ url }),
});
const server = new ApolloServer<Ctx>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4100), host: "127.0.0.1" },
  context: async ({ req }) => ({ identity: req.headers["x-mg-identity"] as string | undefined }),
});
console.log(`apollo gateway ready at ${url}`);
