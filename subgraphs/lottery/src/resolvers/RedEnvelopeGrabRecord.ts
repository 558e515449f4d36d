import { formatAmount } from "@mallgraph/platform/money";
import type { RedEnvelopeGrabRecordResolvers } from "../generated/graphql.ts";

export const RedEnvelopeGrabRecord: RedEnvelopeGrabRecordResolvers = {
  amount: (g) => formatAmount(g.amount, g.currency),
  grabbedAt: (g) => g.grabbedAt.toISOString(),
  credited: (g) => g.creditedAt !== null,
};
