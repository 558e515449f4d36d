import type { OrganizationResolvers } from "../generated/graphql.ts";

export const Organization: OrganizationResolvers = {
  members: (o, _a, ctx) => ctx.services.merchants.organizationMembers(o.id),
  merchants: (o, _a, ctx) => ctx.services.merchants.merchants(o.id),
};
