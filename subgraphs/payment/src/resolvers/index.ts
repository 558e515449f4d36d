import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { Payment } from "./Payment.ts";
import { Refund } from "./Refund.ts";
import { Payout } from "./Payout.ts";
import { Organization } from "./Organization.ts";
import { Merchant, MerchantAccount } from "./Merchant.ts";
import { PaymentApp } from "./PaymentApp.ts";
import { ChannelConfig } from "./ChannelConfig.ts";
import { ReconciliationReport } from "./ReconciliationReport.ts";
import { CallbackAnomaly } from "./CallbackAnomaly.ts";
import { PaymentStatusEvent } from "./PaymentStatusEvent.ts";

export const resolvers = { Query, Mutation, Payment, Refund, Payout, Organization, Merchant, MerchantAccount, PaymentApp, ChannelConfig, ReconciliationReport, CallbackAnomaly, PaymentStatusEvent };
