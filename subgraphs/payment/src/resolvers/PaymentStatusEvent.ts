import { defined } from "@mallgraph/platform/errors";
import type { PaymentStatusEventResolvers } from "../generated/graphql.ts";

export const PaymentStatusEvent: PaymentStatusEventResolvers = {
  payment: async (e, _a, ctx) => defined(await ctx.services.payments.get(e.paymentId), `payment ${e.paymentId}`),
};
