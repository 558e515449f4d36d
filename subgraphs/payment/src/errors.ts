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
  constructor(message: string, readonly providerCode?: string) {
    super(message);
    this.name = "ChannelError";
  }
}
