import type { OrderConnectionResolvers } from "../generated/graphql.ts";

export const OrderConnection: OrderConnectionResolvers = {
  pageInfo: (p) => ({ hasNextPage: p.hasNextPage, endCursor: p.endCursor }),
};
