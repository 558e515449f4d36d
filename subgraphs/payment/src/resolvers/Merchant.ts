import { formatAmount } from "@mallgraph/platform/money";
import type { MerchantAccountResolvers, MerchantResolvers } from "../generated/graphql.ts";

export const Merchant: MerchantResolvers = {
  apps: (m, _a, ctx) => ctx.services.merchants.apps(m.id),
  accounts: (m, _a, ctx) => ctx.services.merchants.accounts(m.id),
};

export const MerchantAccount: MerchantAccountResolvers = {
  balance: (a) => formatAmount(a.balance, a.currency),
};
