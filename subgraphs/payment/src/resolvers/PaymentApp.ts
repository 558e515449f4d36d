import type { PaymentAppResolvers } from "../generated/graphql.ts";

export const PaymentApp: PaymentAppResolvers = {
  channels: (a, _args, ctx) => ctx.services.merchants.channelConfigs(a.id),
};
