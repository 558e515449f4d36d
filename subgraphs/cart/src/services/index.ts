import type { Redis } from "@mallgraph/platform/redis";
import type { CartService } from "./cart.ts";
import type { CatalogPort, PromotionPort } from "./ports.ts";

export interface CartServices {
  redis: Redis;
  catalog: CatalogPort;
  promotion: PromotionPort;
  cart: CartService;
}
