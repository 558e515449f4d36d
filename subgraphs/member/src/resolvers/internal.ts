/**
 * Which service may call which internal field of member (decision 0017, docs/service-contracts.md).
 * Every internal field is guarded through this table: anyone but a service is FORBIDDEN, a service
 * not named here SERVICE_NOT_ALLOWED.
 */
import { internalFields } from "@mallgraph/platform/access";

export const INTERNAL_CALLERS = {
  walletFreeze: ["payment"],
  walletUnfreeze: ["payment"],
  walletCaptureFrozen: ["payment"],
  walletCredit: ["payment", "lottery"],
  walletTopUp: ["payment"],
  walletPayOut: ["payment"],
  marketingBudgetFreeze: ["lottery"],
  marketingBudgetRelease: ["lottery"],
  marketingGrant: ["lottery"],
  memberAddress: ["order"],
  memberDefaultAddress: ["order"],
} as const;

export const asInternal = internalFields(INTERNAL_CALLERS);
export type InternalField = keyof typeof INTERNAL_CALLERS;
