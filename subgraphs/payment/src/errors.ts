import { defineErrorCodes } from "@mallgraph/platform/errors";

/** Payment's own error codes (decision 0030); its business outcomes are the result codes below. */
export const PaymentErrorCode = defineErrorCodes({
  INVALID_STATE: "The payment is no longer PENDING (paid, closed or refunded), so it cannot be closed. Nothing changed.",
  SANDBOX_DISABLED: "The sandbox payment channel is switched off here (`SANDBOX_ENABLED`, off in production): pay through a real channel.",
});

/** The payment domain's result codes (business outcomes travel as `code`, failures as AppError). */
export const PaymentCode = {
  OK: "OK",
  ORDER_NOT_PAYABLE: "ORDER_NOT_PAYABLE",
  ALREADY_PAID: "ALREADY_PAID",
  CHANNEL_DISABLED: "CHANNEL_DISABLED",
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
  NO_WALLET_ACCOUNT: "NO_WALLET_ACCOUNT",
  CHANNEL_ERROR: "CHANNEL_ERROR",
  NOT_REFUNDABLE: "NOT_REFUNDABLE",
  EXCEEDS_REFUNDABLE: "EXCEEDS_REFUNDABLE",
  TOP_UP_SPENT: "TOP_UP_SPENT",
  PAYOUT_UNSUPPORTED: "PAYOUT_UNSUPPORTED",
} as const;
export type PaymentCode = (typeof PaymentCode)[keyof typeof PaymentCode];
/** What createPayment answers (the schema's CreatePaymentResultCode). */
export type CreateCode = Extract<
  PaymentCode,
  "OK" | "ORDER_NOT_PAYABLE" | "ALREADY_PAID" | "CHANNEL_DISABLED" | "INSUFFICIENT_BALANCE" | "NO_WALLET_ACCOUNT" | "CHANNEL_ERROR"
>;
/** What topUpWallet answers (TopUpWalletResultCode). */
export type TopUpCode = Extract<PaymentCode, "OK" | "CHANNEL_DISABLED" | "CHANNEL_ERROR">;
/** What withdrawFromWallet answers (WithdrawalResultCode). */
export type WithdrawCode = Extract<
  PaymentCode,
  "OK" | "INSUFFICIENT_BALANCE" | "NO_WALLET_ACCOUNT" | "CHANNEL_DISABLED" | "PAYOUT_UNSUPPORTED"
>;
/** Why the wallet refuses to take or freeze money. */
export type WalletRefusal = Extract<PaymentCode, "INSUFFICIENT_BALANCE" | "NO_WALLET_ACCOUNT">;
export function isWalletRefusal(code: string): code is WalletRefusal {
  return code === PaymentCode.INSUFFICIENT_BALANCE || code === PaymentCode.NO_WALLET_ACCOUNT;
}
/** What the refund operations answer (RefundResultCode). */
export type RefundCode = Extract<PaymentCode, "OK" | "NOT_REFUNDABLE" | "EXCEEDS_REFUNDABLE" | "CHANNEL_ERROR" | "TOP_UP_SPENT">;

/** Why a callback was refused (recorded as a CallbackAnomaly). */
export const AnomalyReason = {
  BAD_SIGNATURE: "BAD_SIGNATURE",
  UNKNOWN_TRADE: "UNKNOWN_TRADE",
  AMOUNT_MISMATCH: "AMOUNT_MISMATCH",
  CURRENCY_MISMATCH: "CURRENCY_MISMATCH",
  PAID_AFTER_CLOSE: "PAID_AFTER_CLOSE",
  DUPLICATE_PAYMENT: "DUPLICATE_PAYMENT",
} as const;

/** Thrown by channel adapters when a notification fails verification. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

/** Thrown by channel adapters when the provider refuses or cannot be reached. */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly providerCode?: string,
  ) {
    super(message);
    this.name = "ChannelError";
  }
}
