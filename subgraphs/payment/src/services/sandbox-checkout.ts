/** The buyer "pays" in the sandbox (the provider marks its trade paid and calls back, signed); a payout is finished the same way. */
import { AppError, notFound } from "@mallgraph/platform/errors";
import { PaymentErrorCode } from "../errors.ts";
import type { PaymentServices } from "./index.ts";

const assertSandbox = (services: Pick<PaymentServices, "sandboxEnabled">) => {
  if (!services.sandboxEnabled) throw new AppError(PaymentErrorCode.SANDBOX_DISABLED, "the SANDBOX channel is off here (SANDBOX_ENABLED)");
};

export async function completeSandboxPayment(
  services: Pick<PaymentServices, "payments" | "sandbox" | "sandboxEnabled">,
  buyerId: string,
  checkoutRef: string,
): Promise<boolean> {
  assertSandbox(services);
  const payment = await services.payments.byCheckoutRef(checkoutRef);
  if (!payment || payment.buyerId !== buyerId || payment.channel !== "SANDBOX") throw notFound("sandbox checkout", checkoutRef);
  const trade = await services.sandbox.pay(checkoutRef);
  if (!trade) throw notFound("sandbox checkout", checkoutRef);
  if (trade.status !== "PAID") return false; // closed before the buyer paid
  return services.sandbox.deliver(trade);
}

/** The sandbox provider finishes the caller's payout (paid, or failed by the payee's account) and POSTs its signed notification to /callbacks/sandbox/payout. */
export async function completeSandboxPayout(
  services: Pick<PaymentServices, "payments" | "sandbox" | "sandboxEnabled">,
  memberId: string,
  payoutId: string,
  succeed: boolean,
): Promise<boolean> {
  assertSandbox(services);
  const p = await services.payments.payout(memberId, payoutId);
  if (!p || p.channel !== "SANDBOX") throw notFound("sandbox payout", payoutId);
  const finished = await services.sandbox.finishPayout(p.id, succeed, succeed ? undefined : "the payee's account refused the transfer");
  if (!finished) throw notFound("sandbox payout", payoutId);
  return services.sandbox.deliverPayout(finished);
}
