import type { Redis } from "ioredis";
import type { CartService } from "./cart.ts";
import type { CatalogPort, PromotionPort } from "./ports.ts";

export interface CartServices {
  redis: Redis;
  catalog: CatalogPort;
  promotion: PromotionPort;
  cart: CartService;
}
