/**
 * Which service may call which internal field of order (decision 0017, docs/service-contracts.md).
 * Every internal field is guarded through this table: anyone but a service is FORBIDDEN, a service
 * not named here SERVICE_NOT_ALLOWED.
 */
import { internalFields } from "@mallgraph/platform/access";

export const INTERNAL_CALLERS = {
  orderForPayment: ["payment", "promotion"],
  orderMarkPaid: ["payment"],
  orderMarkRefunded: ["payment"],
  orderCreateSeckill: ["promotion"],
  orderCreateSeckillBatch: ["promotion"],
  orderCreatePrize: ["lottery"],
  purchaseVerified: ["catalog"],
  memberOpenOrders: ["member"],
  memberOrdersExport: ["member"],
} as const;

export const asInternal = internalFields(INTERNAL_CALLERS);
