/**
 * Multi-currency wallet: an account per member and currency (balance, frozen) and an append-only
 * ledger. Every movement is ONE SQL statement: a conditional UPDATE of the account (never below
 * zero) feeding the INSERT of its ledger row; the row's unique (account, type, reference) makes a
 * repeated reference fail as a whole, so each reference moves money at most once.
 *
 * A freeze is settled under its own reference, once: UNFREEZE or CAPTURE of reference R needs the
 * FREEZE of R (same amount) and excludes the other (a partial unique index backs it), so releasing
 * one payment can never touch money frozen for another.
 */
import { formatAmount, parseAmount, type Decimal } from "@mallgraph/platform/money";
import type { PrismaClient, WalletAccount } from "../generated/prisma/client.ts";
import { badInput, conflict, isForeignKeyViolation, isUniqueViolation } from "../errors.ts";
import type { CurrencyService } from "./currencies.ts";

export type LedgerType = "TOPUP" | "WITHDRAW" | "FREEZE" | "UNFREEZE" | "CAPTURE" | "CREDIT";
export type WalletOpCode = "OK" | "INSUFFICIENT_BALANCE" | "INSUFFICIENT_FROZEN" | "NO_ACCOUNT" | "NO_FREEZE" | "ALREADY_SETTLED";

export interface WalletView {
  currency: string;
  balance: string;
  frozen: string;
}

export interface WalletOpResult {
  code: WalletOpCode;
  wallet: WalletView | null;
  /** False when the reference had already been applied (idempotent replay). */
  applied: boolean;
}

/** How each ledger type moves balance and frozen (multiplied by the amount). */
const MOVES: Record<LedgerType, { balance: -1 | 0 | 1; frozen: -1 | 0 | 1; short: WalletOpCode }> = {
  TOPUP: { balance: 1, frozen: 0, short: "OK" },
  CREDIT: { balance: 1, frozen: 0, short: "OK" },
  WITHDRAW: { balance: -1, frozen: 0, short: "INSUFFICIENT_BALANCE" },
  FREEZE: { balance: -1, frozen: 1, short: "INSUFFICIENT_BALANCE" },
  UNFREEZE: { balance: 1, frozen: -1, short: "INSUFFICIENT_FROZEN" },
  CAPTURE: { balance: 0, frozen: -1, short: "INSUFFICIENT_FROZEN" },
};

/** Settlements of a freeze and their opposite. */
const SETTLES: Partial<Record<LedgerType, LedgerType>> = { UNFREEZE: "CAPTURE", CAPTURE: "UNFREEZE" };

/** Creates an account on the fly for money coming in (a currency added after the member registered). */
const OPENS_ACCOUNT = new Set<LedgerType>(["TOPUP", "CREDIT"]);

export function toView(a: { currency: string; balance: { toString(): string }; frozen: { toString(): string } }): WalletView {
  return { currency: a.currency, balance: formatAmount(a.balance, a.currency), frozen: formatAmount(a.frozen, a.currency) };
}

export function createWalletService(prisma: PrismaClient, currencies: CurrencyService) {
  async function account(memberId: string, currency: string, open: boolean): Promise<WalletAccount | null> {
    const found = await prisma.walletAccount.findUnique({ where: { memberId_currency: { memberId, currency } } });
    if (found || !open) return found;
    try {
      await prisma.$executeRaw`INSERT INTO "WalletAccount" (id, "memberId", currency) VALUES (gen_random_uuid()::text, ${memberId}, ${currency}) ON CONFLICT ("memberId", currency) DO NOTHING`;
    } catch (e) {
      if (isForeignKeyViolation(e)) return null;
      throw e;
    }
    return prisma.walletAccount.findUnique({ where: { memberId_currency: { memberId, currency } } });
  }

  async function replay(acc: WalletAccount, type: LedgerType, reference: string, amount: Decimal): Promise<WalletOpResult | null> {
    const prior = await prisma.ledgerEntry.findUnique({ where: { accountId_type_reference: { accountId: acc.id, type, reference } } });
    if (!prior) return null;
    if (!amount.equals(prior.amount.toString())) throw conflict(`reference ${reference} was already used with another amount`);
    const now = await prisma.walletAccount.findUniqueOrThrow({ where: { id: acc.id } });
    return { code: "OK", wallet: toView(now), applied: false };
  }

  /** Why an UNFREEZE/CAPTURE of `reference` may not run, or null when it may. */
  async function settlementRefusal(acc: WalletAccount, opposite: LedgerType, reference: string, amount: Decimal): Promise<WalletOpResult | null> {
    const [freeze, other] = await Promise.all([
      prisma.ledgerEntry.findUnique({ where: { accountId_type_reference: { accountId: acc.id, type: "FREEZE", reference } } }),
      prisma.ledgerEntry.findUnique({ where: { accountId_type_reference: { accountId: acc.id, type: opposite, reference } } }),
    ]);
    const now = async () => toView(await prisma.walletAccount.findUniqueOrThrow({ where: { id: acc.id } }));
    if (!freeze) return { code: "NO_FREEZE", wallet: await now(), applied: false };
    if (other) return { code: "ALREADY_SETTLED", wallet: await now(), applied: false };
    if (!amount.equals(freeze.amount.toString())) throw conflict(`amount differs from the ${formatAmount(freeze.amount, acc.currency)} frozen under ${reference}`);
    return null;
  }

  async function apply(memberId: string, currency: string, amountIn: string, type: LedgerType, referenceIn: string): Promise<WalletOpResult> {
    const decimals = await currencies.decimals(currency);
    const amount = parseAmount(amountIn, currency);
    if (amount.decimalPlaces() > decimals) throw badInput(`amount has more than ${decimals} decimal places for ${currency}`, { field: "amount" });
    if (amount.greaterThanOrEqualTo("1e13")) throw badInput("amount is too large", { field: "amount" });
    const reference = typeof referenceIn === "string" ? referenceIn.trim() : "";
    if (!reference || reference.length > 120) throw badInput("reference / idempotency key must have 1 to 120 characters", { field: "reference" });
    if (typeof memberId !== "string" || memberId.length > 64) return { code: "NO_ACCOUNT", wallet: null, applied: false };

    const acc = await account(memberId, currency, OPENS_ACCOUNT.has(type));
    if (!acc) return { code: "NO_ACCOUNT", wallet: null, applied: false };
    const again = await replay(acc, type, reference, amount);
    if (again) return again;
    const opposite = SETTLES[type];
    if (opposite) {
      const refused = await settlementRefusal(acc, opposite, reference, amount);
      if (refused) return refused;
    }

    const m = MOVES[type];
    const db = amount.times(m.balance).toFixed();
    const df = amount.times(m.frozen).toFixed();
    try {
      const rows = await prisma.$queryRaw<Array<{ balance: string; frozen: string }>>`
        WITH moved AS (
          UPDATE "WalletAccount"
             SET balance = balance + ${db}::numeric, frozen = frozen + ${df}::numeric, "updatedAt" = now()
           WHERE id = ${acc.id} AND balance + ${db}::numeric >= 0 AND frozen + ${df}::numeric >= 0
          RETURNING id, balance, frozen)
        INSERT INTO "LedgerEntry" ("accountId", type, amount, "balanceAfter", "frozenAfter", reference)
        SELECT id, ${type}::"LedgerType", ${amount.toFixed()}::numeric, balance, frozen, ${reference} FROM moved
        RETURNING "balanceAfter"::text AS balance, "frozenAfter"::text AS frozen`;
      if (!rows.length) {
        const now = await prisma.walletAccount.findUniqueOrThrow({ where: { id: acc.id } });
        return { code: m.short, wallet: toView(now), applied: false };
      }
      return { code: "OK", wallet: toView({ currency, balance: rows[0]!.balance, frozen: rows[0]!.frozen }), applied: true };
    } catch (e) {
      // The same reference applied concurrently: the other one won; ours changed nothing.
      if (isUniqueViolation(e)) {
        const r = await replay(acc, type, reference, amount);
        if (r) return r;
        // The other settlement of this freeze won the race.
        if (opposite) return (await settlementRefusal(acc, opposite, reference, amount))!;
      }
      throw e;
    }
  }

  return {
    apply,
    async wallets(memberId: string): Promise<WalletView[]> {
      const rows = await prisma.walletAccount.findMany({ where: { memberId }, orderBy: { currency: "asc" } });
      await currencies.list();
      return rows.map(toView);
    },
    async walletsOf(memberIds: readonly string[]): Promise<WalletAccount[]> {
      return prisma.walletAccount.findMany({ where: { memberId: { in: [...memberIds] } }, orderBy: { currency: "asc" } });
    },
    /** Opens the missing accounts of one currency for all members, `batch` members a statement. */
    async createAccounts(currency: string, batch = 500): Promise<number> {
      let after = "";
      let created = 0;
      for (;;) {
        const ids = await prisma.member.findMany({ where: { id: { gt: after } }, orderBy: { id: "asc" }, take: batch, select: { id: true } });
        if (!ids.length) return created;
        after = ids[ids.length - 1]!.id;
        created += await prisma.$executeRaw`
          INSERT INTO "WalletAccount" (id, "memberId", currency)
          SELECT gen_random_uuid()::text, m.id, ${currency} FROM "Member" m
           WHERE m.id = ANY(${ids.map((i) => i.id)}::text[])
          ON CONFLICT ("memberId", currency) DO NOTHING`;
      }
    },
  };
}
export type WalletService = ReturnType<typeof createWalletService>;
