/**
 * Purchase verification for reviews: asks the order subgraph's internal field
 * `purchaseVerified(orderId, memberId, skuId)` (docs/service-contracts.md) with a signed
 * internal identity. Behind an interface so the review rules do not know the transport.
 */
import type { Keys } from "@mallgraph/platform/auth";
import { PURCHASE_VERIFIED_QUERY, type PurchaseVerifiedAnswer } from "@mallgraph/platform/contracts/order";
import { createServiceClient, type ServiceClient } from "@mallgraph/platform/service-client";

export interface PurchaseVerifier {
  /** True when the member bought the SKU in that order and it was delivered/completed. */
  verify(orderId: string, memberId: string, skuId: string): Promise<boolean>;
}

export class OrderServicePurchaseVerifier implements PurchaseVerifier {
  private client: ServiceClient;
  constructor(opts: { url: string; secret: Keys }) {
    this.client = createServiceClient({ url: opts.url, secret: opts.secret, service: "catalog", timeoutMs: 5000 });
  }
  async verify(orderId: string, memberId: string, skuId: string): Promise<boolean> {
    const data = await this.client.request<PurchaseVerifiedAnswer>(PURCHASE_VERIFIED_QUERY, { orderId, memberId, skuId });
    return data.purchaseVerified === true;
  }
}
