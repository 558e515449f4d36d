/**
 * Reading the ledger (a member's own, an operator's view of the system accounts) and the operators'
 * movements: a member's wallet is adjusted only by a transfer from or to the ADJUSTMENT account, and
 * the MARKETING account is funded by a transfer from ADJUSTMENT — each with a reason.
 */
import { defined } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { badInput } from "../errors.ts";
import type { LedgerEntry, PrismaClient, WalletAccount } from "../generated/prisma/client.ts";
import { SYSTEM_ACCOUNTS, toView, type SystemAccount, type WalletOpCode, type WalletService, type WalletView } from "./wallet.ts";

export interface LedgerItem {
  id: string;
  kind: string;
  amount: string;
  /** Signed change of the balance (a freeze lowers it, a capture leaves it). */
  change: string;
  balanceAfter: string;
  frozenAfter: string;
  reference: string;
  reason: string | null;
  /** The other side: a system account's name, MEMBER, SELF (a freeze), or EXTERNAL (top-up, withdrawal). */
  counterparty: string;
  createdAt: string;
}

export interface LedgerPage {
  items: LedgerItem[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface SystemAccountView extends WalletView {
  name: string;
}

const BALANCE_SIGN: Record<string, number> = { TOPUP: 1, CREDIT: 1, UNFREEZE: 1, WITHDRAW: -1, DEBIT: -1, FREEZE: -1, CAPTURE: 0 };

function reasonOf(reason: string): string {
  const r = typeof reason === "string" ? reason.trim() : "";
  if (!r || r.length > 200) throw badInput("reason must have 1 to 200 characters", { field: "reason" });
  return r;
}

export function createLedgerService(prisma: PrismaClient, wallet: WalletService) {
  async function page(acc: WalletAccount | null, first: number, after?: string | null): Promise<LedgerPage> {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be 1 to 100", { field: "first" });
    if (after != null && !/^\d{1,19}$/.test(after)) throw badInput("after is not a cursor of this list", { field: "after" });
    if (!acc) return { items: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await prisma.ledgerEntry.findMany({
      where: { accountId: acc.id, ...(after ? { id: { lt: BigInt(after) } } : {}) },
      orderBy: { id: "desc" },
      take: first + 1,
      include: { counterAccount: { select: { id: true, system: true } } },
    });
    const items = rows.slice(0, first).map((e) => item(acc, e));
    return { items, pageInfo: { hasNextPage: rows.length > first, endCursor: items.at(-1)?.id ?? null } };
  }

  function item(acc: WalletAccount, e: LedgerEntry & { counterAccount: { id: string; system: string | null } | null }): LedgerItem {
    const c = acc.currency;
    const sign = BALANCE_SIGN[e.type] ?? 0;
    const counterparty = !e.counterAccount ? "EXTERNAL" : e.counterAccount.id === acc.id ? "SELF" : (e.counterAccount.system ?? "MEMBER");
    return {
      id: e.id.toString(),
      kind: e.type,
      amount: formatAmount(e.amount, c),
      change: sign === 0 ? formatAmount(0, c) : `${sign < 0 ? "-" : ""}${formatAmount(e.amount, c)}`,
      balanceAfter: formatAmount(e.balanceAfter, c),
      frozenAfter: formatAmount(e.frozenAfter, c),
      reference: e.reference,
      reason: e.reason,
      counterparty,
      createdAt: e.createdAt.toISOString(),
    };
  }

  function system(name: string): SystemAccount {
    if (!SYSTEM_ACCOUNTS.includes(name as SystemAccount)) throw badInput(`unknown system account ${name}`, { field: "account" });
    return name as SystemAccount;
  }

  /** The codes a transfer can answer an operator (the freeze codes belong to the freeze operations). */
  function transferCode(code: WalletOpCode): "OK" | "INSUFFICIENT_BALANCE" | "NO_ACCOUNT" {
    if (code === "OK" || code === "INSUFFICIENT_BALANCE" || code === "NO_ACCOUNT") return code;
    throw new Error(`a transfer answered ${code}`);
  }

  return {
    /** The member's ledger in one currency, newest first. */
    async memberLedger(memberId: string, currency: string, first: number, after?: string | null): Promise<LedgerPage> {
      return page(await wallet.account({ memberId }, currency, false), first, after);
    },
    async systemLedger(name: string, currency: string, first: number, after?: string | null): Promise<LedgerPage> {
      return page(await wallet.account({ system: system(name) }, currency, false), first, after);
    },
    async systemAccounts(currency?: string | null): Promise<SystemAccountView[]> {
      const rows = await prisma.walletAccount.findMany({
        where: { system: { not: null }, ...(currency ? { currency } : {}) },
        orderBy: [{ currency: "asc" }, { system: "asc" }],
      });
      return rows.map((a) => ({ name: defined(a.system, `system account ${a.id}`), ...toView(a) }));
    },
    /**
     * An operator's adjustment: a positive amount is a transfer ADJUSTMENT → member, a negative one
     * member → ADJUSTMENT (refused as INSUFFICIENT_BALANCE when the member has less).
     */
    async adjust(memberId: string, currency: string, signedAmount: string, reason: string, idempotencyKey: string) {
      const why = reasonOf(reason);
      const amount = parseAmount(signedAmount, currency, { allowNegative: true });
      const abs = amount.abs().toFixed();
      const member = { memberId };
      const adjustment = { system: "ADJUSTMENT" as const };
      const reference = `adjust:${idempotencyKey}`;
      if (amount.isNegative()) {
        const r = await wallet.transfer({ from: member, fromType: "DEBIT", to: adjustment, currency, amount: abs, reference, reason: why });
        return { code: transferCode(r.code), wallet: r.wallet };
      }
      const r = await wallet.transfer({ from: adjustment, fromType: "DEBIT", to: member, currency, amount: abs, reference, reason: why });
      return { code: transferCode(r.code), wallet: r.to };
    },
    /** Funds the marketing budget: a transfer ADJUSTMENT → MARKETING. */
    async fundMarketing(currency: string, amount: string, reason: string, idempotencyKey: string) {
      const r = await wallet.transfer({
        from: { system: "ADJUSTMENT" },
        fromType: "DEBIT",
        to: { system: "MARKETING" },
        currency,
        amount,
        reference: `fund:${idempotencyKey}`,
        reason: reasonOf(reason),
      });
      return { code: transferCode(r.code), account: r.to ? { name: "MARKETING", ...r.to } : null };
    },
  };
}
export type LedgerService = ReturnType<typeof createLedgerService>;
