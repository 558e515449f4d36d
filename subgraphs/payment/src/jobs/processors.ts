/** The BullMQ processors of the payment queues (jobs are verbs; see src/worker.ts for the queues). */
import { jobField } from "@mallgraph/platform/queue";
import type { PaymentServices } from "../services/index.ts";
import { ReportService } from "../services/reports.ts";

/** What the payment producers put in a job: the id the verb needs. */
type Ids = { paymentId?: string; refundId?: string; payoutId?: string };

export function paymentProcessors(services: PaymentServices) {
  return {
    timeouts: async (job: { name: string; data: Ids }) => {
      if (job.name === "sweep") return services.payments.sweep();
      if (job.name === "query-refund") return services.payments.pollRefund(jobField(job.data, "refundId"));
      return services.payments.closePayment(jobField(job.data, "paymentId"));
    },
    notify: async (job: { name: string; data: Ids & { eventId?: string } }) => {
      if (job.name === "publish-event") return services.payments.publishEvent(jobField(job.data, "eventId"));
      if (job.name === "notify-refunded") return services.payments.notifyOrderRefunded(jobField(job.data, "refundId"));
      if (job.name === "send-payout") return services.payments.sendPayout(jobField(job.data, "payoutId"));
      if (job.name === "settle-payout") return services.payments.settlePayout(jobField(job.data, "payoutId"));
      return services.payments.notifyOrderPaid(jobField(job.data, "paymentId"));
    },
    reconcile: async (job: { data?: { date?: string; channel?: Parameters<typeof services.reports.reconcile>[1] } }) => {
      const date = job.data?.date ?? ReportService.yesterday();
      const report = await services.reports.reconcile(date, job.data?.channel ?? "SANDBOX");
      return { date, differences: report.differences.length };
    },
  };
}
