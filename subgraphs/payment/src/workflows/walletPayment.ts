/**
 * Paying from the wallet, a durable workflow (packages/platform/src/workflow.ts, decision 0031):
 *
 *   freeze      → member walletFreeze (reference pay:<paymentId>)      ⟲ close the payment (below)
 *   markFrozen  → the checkout payload on the payment (local; records the run)
 *   capture     → member walletCaptureFrozen — the PIVOT: the money has left the buyer
 *   book        → the success applied once (local: the status, the merchant ledger, the outbox
 *                 jobs and the run's completion in one transaction)
 *
 * The run is recorded before the freeze (the payment row itself was written just before). The
 * freeze's compensation closes the payment by asking the wallet (freeze again / unfreeze / capture
 * again, all idempotent under the payment's reference), so it is right whether the failed call
 * took effect or not: released when it did not, recovered as paid when the capture did happen but
 * its answer was lost — or when the process died between the capture and its record (the pivot is
 * a remote call: the sweep compensates such a run, and this compensation finds the capture).
 */
import { defined } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import { WorkflowAbort, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import type { WalletAdapter } from "../channels/wallet.ts";
import type { ChannelConfig, Payment } from "../generated/prisma/client.ts";
import type { PaymentClosing } from "../services/closing.ts";
import type { MerchantService } from "../services/merchants.ts";
import type { PaymentNotifications } from "../services/notifications.ts";
import type { PaymentReads } from "../services/read.ts";
import { toRecord, type Tx } from "../services/shared.ts";

export interface WalletPaymentState {
  paymentId: string;
  /** The running process's copies (a recovery reads them again). */
  payment?: Payment;
  cfg?: ChannelConfig;
}

export interface PaymentWorkflowDeps {
  reads: PaymentReads;
  merchants: MerchantService;
  wallet: WalletAdapter;
  closing: PaymentClosing;
  notifications: PaymentNotifications;
  log: Logger;
}

export const walletPaymentRunId = (paymentId: string) => `walletPayment:${paymentId}`;

/** The payment (and its channel's config) of a run: the running process's copy, else from the database. */
export async function loadPayment(d: Pick<PaymentWorkflowDeps, "reads" | "merchants">, s: WalletPaymentState) {
  if (!s.payment) {
    const p = await d.reads.get(s.paymentId);
    if (!p) throw new Error(`payment ${s.paymentId} is gone`);
    s.payment = p;
  }
  // channel configs are never deleted
  s.cfg ??= defined(
    await d.merchants.channelConfig(s.payment.appId, s.payment.channel),
    `the ${s.payment.channel} config of app ${s.payment.appId}`,
  );
  return { payment: s.payment, cfg: s.cfg };
}

export function walletPaymentWorkflow(d: PaymentWorkflowDeps): WorkflowDefinition<WalletPaymentState, Tx> {
  return {
    name: "walletPayment",
    pivot: "capture",
    encode: (s) => ({ paymentId: s.paymentId }),
    decode: (json) => ({ paymentId: (json as { paymentId: string }).paymentId }),
    steps: [
      {
        id: "freeze",
        compensateOnError: true,
        async invoke(s) {
          const { payment, cfg } = await loadPayment(d, s);
          const r = await d.wallet.createCheckout(toRecord(payment), cfg, "");
          if (r.refusal) throw new WorkflowAbort(r.refusal);
        },
        async compensate(s) {
          await d.closing.closePayment(s.paymentId, { force: true });
        },
      },
      {
        id: "markFrozen",
        local: true,
        async invoke(s, ctx) {
          const { payment } = await loadPayment(d, s);
          const payload = { kind: "WALLET", frozen: toRecord(payment).amount };
          await ctx.transact((tx) => tx.payment.update({ where: { id: payment.id }, data: { clientPayload: JSON.stringify(payload) } }));
        },
      },
      {
        id: "capture",
        // A failed capture is undone by the freeze's compensation (which also detects a capture that happened).
        async invoke(s) {
          const { payment } = await loadPayment(d, s);
          await d.wallet.capture(toRecord(payment));
        },
      },
      {
        id: "book",
        local: true,
        async invoke(s, ctx) {
          const { payment } = await loadPayment(d, s);
          await d.notifications.applyPaid(
            payment,
            {
              notifyId: `wallet:${payment.id}`,
              outTradeNo: payment.checkoutRef,
              amount: toRecord(payment).amount,
              currency: payment.currency,
              paid: true,
              paidAt: new Date(),
            },
            ctx.transact,
          );
        },
      },
    ],
  };
}
