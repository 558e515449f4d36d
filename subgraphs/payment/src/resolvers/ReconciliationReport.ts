import { formatAmount } from "@mallgraph/platform/money";
import type { ReconciliationReportResolvers } from "../generated/graphql.ts";

export const ReconciliationReport: ReconciliationReportResolvers = {
  channelCount: (r) => r.remoteCount,
  createdAt: (r) => r.updatedAt.toISOString(),
  differences: (r) =>
    r.differences.map((d) => ({
      kind: d.kind,
      checkoutRef: d.checkoutRef,
      paymentId: d.paymentId,
      localAmount: d.localAmount ? formatAmount(d.localAmount, d.currency) : null,
      channelAmount: d.channelAmount ? formatAmount(d.channelAmount, d.currency) : null,
      currency: d.currency,
    })),
};
