/** Per-request DataLoaders (entity references and per-member lists, batched). */
import DataLoader from "dataloader";
import type { Member, Address, WalletAccount } from "./generated/prisma/client.ts";
import type { MemberServices } from "./services/index.ts";

function group<T extends { memberId: string | null }>(ids: readonly string[], rows: T[]): T[][] {
  const by = new Map<string | null, T[]>();
  for (const r of rows) {
    const list = by.get(r.memberId);
    if (list) list.push(r);
    else by.set(r.memberId, [r]);
  }
  return ids.map((id) => by.get(id) ?? []);
}

export function createLoaders(s: MemberServices) {
  return {
    member: new DataLoader<string, Member | null>(async (ids) => {
      const rows = await s.members.byIds(ids);
      const by = new Map(rows.map((m) => [m.id, m]));
      return ids.map((id) => by.get(id) ?? null);
    }),
    addresses: new DataLoader<string, Address[]>(async (ids) => group(ids, await s.addresses.byIds(ids))),
    wallets: new DataLoader<string, WalletAccount[]>(async (ids) => {
      await s.currencies.list();
      return group(ids, await s.wallet.walletsOf(ids));
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
