import type { PaymentStatusEventResolvers } from "../generated/graphql.ts";
import { defined } from "@mallgraph/platform/errors";

export const PaymentStatusEvent: PaymentStatusEventResolvers = {
  payment: async (e, _a, ctx) => defined(await ctx.services.payments.get(e.paymentId), `payment ${e.paymentId}`),
};
