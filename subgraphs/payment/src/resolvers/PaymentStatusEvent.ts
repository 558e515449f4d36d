import type { PaymentStatusEventResolvers } from "../generated/graphql.ts";

export const PaymentStatusEvent: PaymentStatusEventResolvers = {
  payment: async (e, _a, ctx) => (await ctx.services.payments.get(e.paymentId))!,
};
