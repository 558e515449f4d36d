/** The buyer "pays" in the sandbox: the provider marks its trade paid and calls back, signed. */
import { AppError, ErrorCode, notFound } from "@mallgraph/platform/errors";
import type { PaymentServices } from "./index.ts";

export async function completeSandboxPayment(services: Pick<PaymentServices, "payments" | "sandbox" | "sandboxEnabled">, buyerId: string, checkoutRef: string): Promise<boolean> {
  if (!services.sandboxEnabled) throw new AppError(ErrorCode.SANDBOX_DISABLED, "the SANDBOX channel is off here (SANDBOX_ENABLED)");
  const payment = await services.payments.byCheckoutRef(checkoutRef);
  if (!payment || payment.buyerId !== buyerId || payment.channel !== "SANDBOX") throw notFound("sandbox checkout", checkoutRef);
  const trade = await services.sandbox.pay(checkoutRef);
  if (!trade) throw notFound("sandbox checkout", checkoutRef);
  if (trade.status !== "PAID") return false; // closed before the buyer paid
  return services.sandbox.deliver(trade);
}
