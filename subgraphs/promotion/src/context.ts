import type { BaseContext } from "@mallgraph/platform/access";
import type { AuditLog } from "@mallgraph/platform/audit";
import type { Identity } from "@mallgraph/platform/auth";
import DataLoader from "dataloader";
import type { CouponWithTemplate } from "./services/coupons.ts";
import type { PromotionServices } from "./services/index.ts";

export interface Context extends BaseContext {
  services: PromotionServices;
  /** Per-request loader of coupons by id (Coupon entity references from cart). */
  couponLoader: DataLoader<string, CouponWithTemplate | null>;
}

/** One request's context; the coupon loader is made when the request first reads a coupon (seckillBuy never does). */
class PromotionContext implements Context {
  readonly identity: Identity;
  readonly requestId: string;
  readonly audit?: AuditLog;
  private loader?: Context["couponLoader"];

  constructor(
    base: BaseContext,
    readonly services: PromotionServices,
  ) {
    this.identity = base.identity;
    this.requestId = base.requestId;
    this.audit = base.audit;
  }

  get couponLoader(): Context["couponLoader"] {
    return (this.loader ??= new DataLoader((ids) => this.services.coupons.getMany(ids)));
  }
}

export function createContext(base: BaseContext, services: PromotionServices): Context {
  return new PromotionContext(base, services);
}
