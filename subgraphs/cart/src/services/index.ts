import type { Redis } from "ioredis";
import type { CartService } from "./cart.ts";
import type { CatalogPort } from "./ports.ts";

export interface CartServices {
  redis: Redis;
  catalog: CatalogPort;
  cart: CartService;
}
