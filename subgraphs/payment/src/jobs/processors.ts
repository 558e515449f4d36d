/** The BullMQ processors of the payment queues (jobs are verbs; see src/worker.ts for the queues). */
import type { PaymentServices } from "../services/index.ts";
import { ReportService } from "../services/reports.ts";

export function paymentProcessors(services: PaymentServices) {
  return {
    timeouts: async (job: { name: string; data: any }) => {
      if (job.name === "sweep") return services.payments.sweep();
      if (job.name === "query-refund") return services.payments.pollRefund(job.data.refundId);
      return services.payments.closePayment(job.data.paymentId);
    },
    notify: async (job: { name: string; data: any }) => {
      if (job.name === "publish-event") return services.payments.publishEvent(job.data.eventId);
      if (job.name === "notify-refunded") return services.payments.notifyOrderRefunded(job.data.refundId);
      if (job.name === "send-payout") return services.payments.sendPayout(job.data.payoutId);
      if (job.name === "settle-payout") return services.payments.settlePayout(job.data.payoutId);
      return services.payments.notifyOrderPaid(job.data.paymentId);
    },
    reconcile: async (job: { data: any }) => {
      const date = job.data?.date ?? ReportService.yesterday();
      const report = await services.reports.reconcile(date, job.data?.channel ?? "SANDBOX");
      return { date, differences: report.differences.length };
    },
  };
}
