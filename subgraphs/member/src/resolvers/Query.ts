import type { QueryResolvers } from "../generated/graphql.ts";

export const Query: QueryResolvers = {
  currencies: (_p, _a, ctx) => ctx.services.prisma.currency.findMany({ orderBy: { code: "asc" } }),
};
