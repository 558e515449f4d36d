import type { MessageResolvers } from "../generated/graphql.ts";

export const Message: MessageResolvers = {
  createdAt: (m) => m.createdAt.toISOString(),
  status: (m) => m.status,
};
