import type { MemberResolvers } from "../generated/graphql.ts";
import { toView } from "../services/wallet.ts";
import { canSeeMember } from "./access.ts";

export const Member: MemberResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.member.load(ref.id),
  phone: (m, _a, ctx) => {
    canSeeMember(ctx, m.id);
    return m.phone;
  },
  createdAt: (m) => m.createdAt.toISOString(),
  wallets: async (m, _a, ctx) => {
    canSeeMember(ctx, m.id);
    return (await ctx.loaders.wallets.load(m.id)).map(toView);
  },
  addresses: (m, _a, ctx) => {
    canSeeMember(ctx, m.id);
    return ctx.loaders.addresses.load(m.id);
  },
};
