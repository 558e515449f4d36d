/**
 * What lottery needs from other domains (docs/service-contracts.md): member's internal
 * `walletCredit`, idempotent per reference.
 */
import { createServiceClient } from "@mallgraph/platform/service-client";

export interface WalletOpResult {
  code: string;
  balance?: string | null;
}

export interface WalletPort {
  credit(memberId: string, currency: string, amount: string, reference: string): Promise<WalletOpResult>;
}

export function memberWalletPort(opts: { url: string; secret: string }): WalletPort {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "lottery" });
  return {
    async credit(memberId, currency, amount, reference) {
      const d = await client.request<{ walletCredit: WalletOpResult }>(
        `mutation($m: ID!, $c: String!, $a: String!, $r: String!) { walletCredit(memberId: $m, currency: $c, amount: $a, reference: $r) { code balance } }`,
        { m: memberId, c: currency, a: amount, r: reference },
      );
      return d.walletCredit;
    },
  };
}
