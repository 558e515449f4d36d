/**
 * Paying from the wallet: freeze → capture (the pivot: the money has left the buyer) → book the
 * success (idempotent; recovered forwards by the time-out path). The freeze's compensation closes
 * the payment by asking the wallet (freeze again / unfreeze / capture again, all idempotent under
 * the payment's reference), so it is right whether the failed call took effect or not: released
 * when it did not, recovered as paid when the capture did happen but its answer was lost.
 */
import type { Logger } from "@mallgraph/platform/log";
import type { ChannelNotification } from "../channels/types.ts";
import type { WalletAdapter } from "../channels/wallet.ts";
import type { ChannelConfig, Payment } from "../generated/prisma/client.ts";
import { runWorkflow, WorkflowAbort, type Step, type WorkflowResult } from "./workflow.ts";

export interface WalletPaymentState {
  payment: Payment;
  record: Parameters<WalletAdapter["capture"]>[0];
  cfg: ChannelConfig;
  wallet: WalletAdapter;
  /** Records the checkout (frozen) on the payment. */
  markFrozen(payload: Record<string, unknown>): Promise<void>;
  applyPaid(n: ChannelNotification): Promise<unknown>;
  /** Compensation of the freeze: close the payment through the wallet (see above). */
  undoFreeze(): Promise<void>;
}

export const walletPaymentSteps: Step<WalletPaymentState>[] = [
  {
    id: "freeze",
    async invoke(s) {
      const r = await s.wallet.createCheckout(s.record, s.cfg, "");
      if (r.refusal) throw new WorkflowAbort(r.refusal);
      await s.markFrozen(r.payload);
    },
    compensate: (s) => s.undoFreeze(),
    compensateOnError: true,
  },
  {
    id: "capture",
    pivot: true,
    // A failed capture is undone by the freeze's compensation (which also detects a capture that happened).
    invoke: (s) => s.wallet.capture(s.record),
  },
  {
    id: "book",
    async invoke(s) {
      await s.applyPaid({
        notifyId: `wallet:${s.payment.id}`,
        outTradeNo: s.payment.checkoutRef,
        amount: s.record.amount,
        currency: s.payment.currency,
        paid: true,
        paidAt: new Date(),
      });
    },
  },
];

export function payFromWallet(state: WalletPaymentState, log?: Logger): Promise<WorkflowResult> {
  return runWorkflow("wallet-payment", walletPaymentSteps, state, log);
}
