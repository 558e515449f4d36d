import type { InboxMessageResolvers } from "../generated/graphql.ts";

export const InboxMessage: InboxMessageResolvers = {
  read: (m) => m.readAt !== null,
  createdAt: (m) => m.createdAt.toISOString(),
};
