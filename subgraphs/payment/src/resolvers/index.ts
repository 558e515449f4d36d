import { CallbackAnomaly } from "./CallbackAnomaly.ts";
import { ChannelConfig } from "./ChannelConfig.ts";
import { Merchant, MerchantAccount } from "./Merchant.ts";
import { Mutation } from "./Mutation.ts";
import { Organization } from "./Organization.ts";
import { Payment } from "./Payment.ts";
import { PaymentApp } from "./PaymentApp.ts";
import { PaymentStatusEvent } from "./PaymentStatusEvent.ts";
import { Payout } from "./Payout.ts";
import { Query } from "./Query.ts";
import { ReconciliationReport } from "./ReconciliationReport.ts";
import { Refund } from "./Refund.ts";

export const resolvers = {
  Query,
  Mutation,
  Payment,
  Refund,
  Payout,
  Organization,
  Merchant,
  MerchantAccount,
  PaymentApp,
  ChannelConfig,
  ReconciliationReport,
  CallbackAnomaly,
  PaymentStatusEvent,
};
