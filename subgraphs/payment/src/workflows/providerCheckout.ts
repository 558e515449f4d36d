/**
 * A checkout at a provider (Alipay, WeChat Pay, the sandbox) for an order payment or a wallet
 * top-up, a durable workflow (packages/platform/src/workflow.ts, decision 0031):
 *
 *   checkout → the provider's checkout (its trade is keyed by the payment's checkoutRef)  ⟲ close the payment
 *   record   → the client payload and the provider's trade number on the payment — the PIVOT
 *              (local: recorded, and the run completed, in that transaction)
 *
 * The run is recorded before the provider is called (the payment row was written just before). A
 * refusal or a channel error is a business answer (WorkflowAbort): nothing was opened, the caller
 * deletes the payment. An unknown outcome (a time-out), or a process that died before the payload
 * was recorded, closes the payment: closing asks the provider first, so a trade paid meanwhile is
 * recovered as paid, and the buyer, who never got the payload, asks again.
 */
import { WorkflowAbort, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import type { Channel } from "../channels/types.ts";
import { ChannelError } from "../errors.ts";
import type { Payment } from "../generated/prisma/client.ts";
import { CALLBACK_PATHS, toRecord, type PaymentDeps, type Tx } from "../services/shared.ts";
import { loadPayment, type PaymentWorkflowDeps, type WalletPaymentState } from "./walletPayment.ts";

export interface CheckoutState extends WalletPaymentState {
  /** Set by checkout (the running process only: a recovery never records after a lost checkout). */
  checkout?: { payload: Record<string, unknown>; providerTradeNo?: string | null };
  /** The recorded payment (the caller's answer). */
  recorded?: Payment;
}

export const checkoutRunId = (paymentId: string) => `checkout:${paymentId}`;

export function providerCheckoutWorkflow(
  d: PaymentWorkflowDeps & { adapters: PaymentDeps["adapters"]; callbackBaseUrl: () => string },
): WorkflowDefinition<CheckoutState, Tx> {
  return {
    name: "checkout",
    pivot: "record",
    encode: (s) => ({ paymentId: s.paymentId }),
    decode: (json) => ({ paymentId: (json as { paymentId: string }).paymentId }),
    steps: [
      {
        id: "checkout",
        compensateOnError: true,
        async invoke(s) {
          const { payment, cfg } = await loadPayment(d, s);
          const channel = payment.channel as Exclude<Channel, "WALLET">;
          const notifyUrl = `${d.callbackBaseUrl()}/callbacks/${CALLBACK_PATHS[channel] ?? "none"}`;
          try {
            const r = await d.adapters[channel].createCheckout(toRecord(payment), cfg, notifyUrl);
            if (r.refusal) throw new WorkflowAbort(r.refusal, { message: `the channel refused: ${r.refusal}` });
            s.checkout = { payload: r.payload, providerTradeNo: r.providerTradeNo };
          } catch (e) {
            if (e instanceof ChannelError) throw new WorkflowAbort("CHANNEL_ERROR", { message: e.message });
            throw e;
          }
        },
        async compensate(s) {
          await d.closing.closePayment(s.paymentId, { force: true });
        },
      },
      {
        id: "record",
        local: true,
        async invoke(s, ctx) {
          const c = s.checkout;
          if (!c) throw new Error(`the checkout of payment ${s.paymentId} is not known to this process`);
          s.recorded = await ctx.transact((tx) =>
            tx.payment.update({
              where: { id: s.paymentId },
              data: { clientPayload: JSON.stringify(c.payload), providerTradeNo: c.providerTradeNo ?? null },
            }),
          );
        },
      },
    ],
  };
}
