/** Plain domain shapes of the promotion domain (no GraphQL types here). */
import type { SeckillCode } from "../errors.ts";
export interface ItemView {
  sessionId: string;
  skuId: string;
  title: string;
  seckillPrice: string;
  currency: string;
  stock: number;
  remaining: number;
  perUserLimit: number;
  shards: number;
}

export interface SessionView {
  id: string;
  title: string;
  status: "SCHEDULED" | "ONLINE" | "ENDED" | "CANCELLED";
  startsAt: string;
  endsAt: string;
  items: ItemView[];
}

export type ReservationStatus = "PENDING" | "ORDERED" | "FAILED" | "CANCELLED";

export interface ReservationView {
  id: string;
  status: ReservationStatus;
  sessionId: string;
  skuId: string;
  buyerId: string;
  quantity: number;
  unitPrice: string;
  currency: string;
  orderId: string | null;
  createdMs: number;
  /** Its home shard was sold out and stock is being taken from another (shown as PENDING). */
  holding?: boolean;
}

export interface SeckillItemInput {
  skuId: string;
  seckillPrice: string;
  stock: number;
  perUserLimit: number;
  /** Redis shards of this item's stock (default SECKILL_STOCK_SHARDS; at most the stock). */
  shards?: number | null;
}

export interface SeckillSessionUpdate {
  title?: string | null;
  startsAt?: string | null;
  endsAt?: string | null;
  items?: Array<{ skuId: string; seckillPrice?: string | null; perUserLimit?: number | null }> | null;
}

export interface SeckillSessionInput {
  title: string;
  startsAt: string;
  endsAt: string;
  items: SeckillItemInput[];
}

export interface BuyOutcome {
  code: SeckillCode;
  reservationId: string | null;
}
