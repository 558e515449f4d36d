/**
 * Which service may call which internal field of catalog (decision 0017, docs/service-contracts.md).
 * Every internal field is guarded through this table: anyone but a service is FORBIDDEN, a service
 * not named here SERVICE_NOT_ALLOWED.
 */
import { internalFields } from "@mallgraph/platform/access";

export const INTERNAL_CALLERS = {
  skuSnapshots: ["order", "cart", "promotion"],
  spuScopes: ["promotion"],
  inventoryReserve: ["order", "promotion"],
  inventoryRelease: ["order", "promotion"],
  inventoryConfirm: ["order", "promotion"],
  inventoryReturn: ["promotion"],
} as const;

export const asInternal = internalFields(INTERNAL_CALLERS);
