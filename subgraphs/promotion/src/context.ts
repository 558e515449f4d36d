import type { BaseContext } from "@mallgraph/platform/access";
import DataLoader from "dataloader";
import type { CouponWithTemplate } from "./services/coupons.ts";
import type { PromotionServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: PromotionServices;
  /** Per-request loader of coupons by id (Coupon entity references from cart). */
  couponLoader: DataLoader<string, CouponWithTemplate | null>;
}

export function createContext(base: BaseContext, services: PromotionServices): Context {
  let couponLoader: Context["couponLoader"] | undefined;
  return {
    ...base,
    services,
    // made when a request first reads a coupon (most requests, seckillBuy among them, never do)
    get couponLoader() {
      return (couponLoader ??= new DataLoader((ids) => services.coupons.getMany(ids)));
    },
  };
}
