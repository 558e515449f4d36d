/**
 * Multi-currency wallet with a double-entry, append-only ledger (decision 0019). Accounts belong to
 * a member or to the platform (system accounts MARKETING, ADJUSTMENT, SETTLEMENT), one per currency,
 * each with a balance and a frozen part.
 *
 * Every movement has a counter-account:
 * - a transfer moves money from one account (a DEBIT of its balance or a CAPTURE of its frozen part)
 *   to another (a CREDIT of its balance): two ledger rows naming each other;
 * - FREEZE / UNFREEZE move money inside one account (the counter-account is the account itself);
 * - only TOPUP (a paid top-up) and WITHDRAW (a paid-out withdrawal or a refunded top-up, always out
 *   of a freeze of its reference) cross the platform's edge (no counter-account), so the sum over
 *   all accounts changes by those two alone.
 *
 * Every movement is ONE SQL statement: conditional UPDATEs of the account(s) (never below zero,
 * ADJUSTMENT excepted) feeding the INSERT of the ledger row(s); the row's unique (account, type,
 * reference) makes a repeated reference fail as a whole, so each reference moves money at most once.
 *
 * A freeze is settled under its own reference, once: UNFREEZE, CAPTURE or WITHDRAW of reference R
 * needs the FREEZE of R (same amount) and excludes the others (a partial unique index backs it), so releasing
 * one payment can never touch money frozen for another. A pooled freeze (a red-envelope budget) is
 * spent by captures under references of their own and its rest released once under R ("partial").
 */
import { auditing, auditNote } from "@mallgraph/platform/audit";
import type { WalletOpCode } from "@mallgraph/platform/contracts/member";
import { defined } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount, Decimal } from "@mallgraph/platform/money";
import { badInput, conflict, isForeignKeyViolation, isUniqueViolation } from "../errors.ts";
import type { PrismaClient, WalletAccount } from "../generated/prisma/client.ts";
import type { CurrencyService } from "./currencies.ts";

export type LedgerType = "TOPUP" | "WITHDRAW" | "FREEZE" | "UNFREEZE" | "CAPTURE" | "CREDIT" | "DEBIT";
/** The codes member answers on its internal wallet fields: the contract its callers read. */
export type { WalletOpCode };
export type SystemAccount = "MARKETING" | "ADJUSTMENT" | "SETTLEMENT";
export const SYSTEM_ACCOUNTS: readonly SystemAccount[] = ["MARKETING", "ADJUSTMENT", "SETTLEMENT"];

/** Whose account: a member's or a system account of the platform. */
export type Owner = { memberId: string } | { system: SystemAccount };

export interface WalletView {
  currency: string;
  balance: string;
  frozen: string;
}

export interface WalletOpResult {
  code: WalletOpCode;
  /** The account the operation is about (a transfer: its source). */
  wallet: WalletView | null;
  /** False when the reference had already been applied (idempotent replay). */
  applied: boolean;
}

/** How each ledger type moves balance and frozen (multiplied by the amount). */
const MOVES: Record<LedgerType, { balance: -1 | 0 | 1; frozen: -1 | 0 | 1; short: WalletOpCode }> = {
  TOPUP: { balance: 1, frozen: 0, short: "OK" },
  CREDIT: { balance: 1, frozen: 0, short: "OK" },
  WITHDRAW: { balance: 0, frozen: -1, short: "INSUFFICIENT_FROZEN" },
  DEBIT: { balance: -1, frozen: 0, short: "INSUFFICIENT_BALANCE" },
  FREEZE: { balance: -1, frozen: 1, short: "INSUFFICIENT_BALANCE" },
  UNFREEZE: { balance: 1, frozen: -1, short: "INSUFFICIENT_FROZEN" },
  CAPTURE: { balance: 0, frozen: -1, short: "INSUFFICIENT_FROZEN" },
};

/** Settlements of a freeze and the others that exclude them (a freeze is settled once). */
const SETTLES: Partial<Record<LedgerType, LedgerType[]>> = {
  UNFREEZE: ["CAPTURE", "WITHDRAW"],
  CAPTURE: ["UNFREEZE", "WITHDRAW"],
  WITHDRAW: ["UNFREEZE", "CAPTURE"],
};

/**
 * exact: the freeze of the same reference, same amount, settled once (payments).
 * partial: the rest of a pooled freeze of the same reference, at most its amount, released once.
 * none: no freeze of this reference is needed (a capture from a pooled freeze).
 */
export type Settle = "exact" | "partial" | "none";

export interface TransferInput {
  from: Owner;
  /** DEBIT takes the source's balance, CAPTURE its frozen part. */
  fromType: "DEBIT" | "CAPTURE";
  to: Owner;
  currency: string;
  amount: string;
  reference: string;
  reason?: string | null;
  settle?: Settle;
}

export function toView(a: { currency: string; balance: { toString(): string }; frozen: { toString(): string } }): WalletView {
  return { currency: a.currency, balance: formatAmount(a.balance, a.currency), frozen: formatAmount(a.frozen, a.currency) };
}

function isDeadlock(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: unknown };
  if (err?.code === "40P01" || (typeof err?.message === "string" && /40P01|deadlock detected/i.test(err.message))) return true;
  return err?.cause ? isDeadlock(err.cause) : false;
}

const isSystem = (o: Owner): o is { system: SystemAccount } => "system" in o;

export function createWalletService(prisma: PrismaClient, currencies: CurrencyService) {
  async function account(owner: Owner, currency: string, open: boolean): Promise<WalletAccount | null> {
    if (isSystem(owner)) {
      const found = await prisma.walletAccount.findUnique({ where: { system_currency: { system: owner.system, currency } } });
      if (found) return found;
      await prisma.$executeRaw`INSERT INTO "WalletAccount" (id, "system", currency) VALUES (gen_random_uuid()::text, ${owner.system}, ${currency}) ON CONFLICT ("system", currency) DO NOTHING`;
      return prisma.walletAccount.findUnique({ where: { system_currency: { system: owner.system, currency } } });
    }
    const { memberId } = owner;
    if (typeof memberId !== "string" || memberId.length > 64) return null;
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

  const viewOf = async (id: string) => toView(await prisma.walletAccount.findUniqueOrThrow({ where: { id } }));

  async function replay(acc: WalletAccount, type: LedgerType, reference: string, amount: Decimal): Promise<WalletOpResult | null> {
    const prior = await prisma.ledgerEntry.findUnique({ where: { accountId_type_reference: { accountId: acc.id, type, reference } } });
    if (!prior) return null;
    if (!amount.equals(prior.amount.toString())) throw conflict(`reference ${reference} was already used with another amount`);
    return { code: "OK", wallet: await viewOf(acc.id), applied: false };
  }

  /** Why an UNFREEZE/CAPTURE of `reference` may not run, or null when it may. */
  async function settlementRefusal(
    acc: WalletAccount,
    type: LedgerType,
    reference: string,
    amount: Decimal,
    settle: Settle,
  ): Promise<WalletOpResult | null> {
    const opposite = SETTLES[type];
    if (!opposite || settle === "none") return null;
    const [freeze, other] = await Promise.all([
      prisma.ledgerEntry.findUnique({ where: { accountId_type_reference: { accountId: acc.id, type: "FREEZE", reference } } }),
      prisma.ledgerEntry.findFirst({ where: { accountId: acc.id, type: { in: opposite }, reference } }),
    ]);
    if (!freeze) return { code: "NO_FREEZE", wallet: await viewOf(acc.id), applied: false };
    if (other) return { code: "ALREADY_SETTLED", wallet: await viewOf(acc.id), applied: false };
    const frozen = formatAmount(freeze.amount, acc.currency);
    if (settle === "exact" && !amount.equals(freeze.amount.toString()))
      throw conflict(`amount differs from the ${frozen} frozen under ${reference}`);
    if (settle === "partial" && amount.greaterThan(freeze.amount.toString()))
      throw conflict(`amount exceeds the ${frozen} frozen under ${reference}`);
    return null;
  }

  /** Validated amount and reference, or the BAD_USER_INPUT error. */
  async function checked(currency: string, amountIn: string, referenceIn: string): Promise<{ amount: Decimal; reference: string }> {
    const decimals = await currencies.decimals(currency);
    const amount = parseAmount(amountIn, currency);
    if (amount.decimalPlaces() > decimals)
      throw badInput(`amount has more than ${decimals} decimal places for ${currency}`, { field: "amount" });
    if (amount.greaterThanOrEqualTo("1e13")) throw badInput("amount is too large", { field: "amount" });
    const reference = typeof referenceIn === "string" ? referenceIn.trim() : "";
    if (!reference || reference.length > 120)
      throw badInput("reference / idempotency key must have 1 to 120 characters", { field: "reference" });
    return { amount, reference };
  }

  /** Runs one movement statement; a deadlock between two transfers in opposite directions is retried. */
  async function run<T>(statement: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await statement();
      } catch (e) {
        if (!isDeadlock(e) || attempt >= 5) throw e;
      }
    }
  }

  /** A movement inside one account (FREEZE, UNFREEZE) or across the platform's edge (TOPUP, WITHDRAW). */
  async function single(
    owner: Owner,
    currency: string,
    amountIn: string,
    type: "TOPUP" | "WITHDRAW" | "FREEZE" | "UNFREEZE",
    referenceIn: string,
    opts: { settle?: Settle; reason?: string | null } = {},
  ): Promise<WalletOpResult> {
    const { amount, reference } = await checked(currency, amountIn, referenceIn);
    const settle = opts.settle ?? "exact";
    const acc = await account(owner, currency, type === "TOPUP");
    if (!acc) return { code: "NO_ACCOUNT", wallet: null, applied: false };
    const again = await replay(acc, type, reference, amount);
    if (again) return again;
    const refused = await settlementRefusal(acc, type, reference, amount, settle);
    if (refused) return refused;

    const m = MOVES[type];
    const db = amount.times(m.balance).toFixed();
    const df = amount.times(m.frozen).toFixed();
    const counter = type === "FREEZE" || type === "UNFREEZE" ? acc.id : null;
    try {
      const rows = await run(
        () => prisma.$queryRaw<Array<{ balance: string; frozen: string }>>`
        WITH moved AS (
          UPDATE "WalletAccount"
             SET balance = balance + ${db}::numeric, frozen = frozen + ${df}::numeric, "updatedAt" = now()
           WHERE id = ${acc.id} AND (balance + ${db}::numeric >= 0 OR "system" = 'ADJUSTMENT') AND frozen + ${df}::numeric >= 0
          RETURNING id, balance, frozen)
        INSERT INTO "LedgerEntry" ("accountId", type, amount, "balanceAfter", "frozenAfter", reference, "counterAccountId", reason)
        SELECT id, ${type}::"LedgerType", ${amount.toFixed()}::numeric, balance, frozen, ${reference}, ${counter}, ${opts.reason ?? null} FROM moved
        RETURNING "balanceAfter"::text AS balance, "frozenAfter"::text AS frozen`,
      );
      if (!rows.length) return { code: m.short, wallet: await viewOf(acc.id), applied: false };
      return { code: "OK", wallet: toView({ currency, ...defined(rows[0], "the updated account") }), applied: true };
    } catch (e) {
      // The same reference applied concurrently: the other one won; ours changed nothing.
      if (isUniqueViolation(e)) {
        const r = await replay(acc, type, reference, amount);
        if (r) return r;
        // The other settlement of this freeze won the race.
        const lost = await settlementRefusal(acc, type, reference, amount, settle);
        if (lost) return lost;
      }
      throw e;
    }
  }

  /**
   * A transfer between two accounts: the source's DEBIT (balance) or CAPTURE (frozen) and the
   * destination's CREDIT in one statement, each row naming the other account. The result is about
   * the source; `to` carries the destination's account after the transfer.
   */
  async function transfer(t: TransferInput): Promise<WalletOpResult & { to: WalletView | null }> {
    const { amount, reference } = await checked(t.currency, t.amount, t.reference);
    const settle = t.settle ?? (t.fromType === "CAPTURE" ? "exact" : "none");
    const src = await account(t.from, t.currency, false);
    if (!src) return { code: "NO_ACCOUNT", wallet: null, applied: false, to: null };
    const dst = await account(t.to, t.currency, true);
    if (!dst) return { code: "NO_ACCOUNT", wallet: await viewOf(src.id), applied: false, to: null };
    if (dst.id === src.id) throw badInput("a transfer needs two different accounts", { field: "to" });
    const done = async (r: WalletOpResult) => ({ ...r, to: await viewOf(dst.id) });
    const again = await replay(src, t.fromType, reference, amount);
    if (again) return done(again);
    const refused = await settlementRefusal(src, t.fromType, reference, amount, settle);
    if (refused) return done(refused);

    const m = MOVES[t.fromType];
    const db = amount.times(m.balance).toFixed();
    const df = amount.times(m.frozen).toFixed();
    const amt = amount.toFixed();
    const reason = t.reason ?? null;
    const statement = (client: Pick<PrismaClient, "$queryRaw">) => client.$queryRaw<
      Array<{ accountId: string; balance: string; frozen: string }>
    >`
        WITH src AS (
          UPDATE "WalletAccount"
             SET balance = balance + ${db}::numeric, frozen = frozen + ${df}::numeric, "updatedAt" = now()
           WHERE id = ${src.id} AND (balance + ${db}::numeric >= 0 OR "system" = 'ADJUSTMENT') AND frozen + ${df}::numeric >= 0
          RETURNING id, balance, frozen),
        dst AS (
          UPDATE "WalletAccount" SET balance = balance + ${amt}::numeric, "updatedAt" = now()
           WHERE id = ${dst.id} AND EXISTS (SELECT 1 FROM src)
          RETURNING id, balance, frozen)
        INSERT INTO "LedgerEntry" ("accountId", type, amount, "balanceAfter", "frozenAfter", reference, "counterAccountId", reason)
        SELECT id, ${t.fromType}::"LedgerType", ${amt}::numeric, balance, frozen, ${reference}, ${dst.id}, ${reason} FROM src
        UNION ALL
        SELECT id, 'CREDIT'::"LedgerType", ${amt}::numeric, balance, frozen, ${reference}, ${src.id}, ${reason} FROM dst
        RETURNING "accountId", "balanceAfter"::text AS balance, "frozenAfter"::text AS frozen`;
    // An operator's transfer (an adjustment, marketing funding) runs in a transaction that also
    // writes its audit entry: both accounts before (after minus the move) and after.
    const audited = () =>
      prisma.$transaction(
        async (tx) => {
          const rows = await statement(tx);
          auditNote(
            ...rows.map((r) => {
              const [dBalance, dFrozen] = r.accountId === src.id ? [db, df] : [amt, "0"];
              return {
                entity: "WalletAccount",
                id: r.accountId,
                op: "update" as const,
                before: {
                  balance: formatAmount(new Decimal(r.balance).minus(dBalance), t.currency),
                  frozen: formatAmount(new Decimal(r.frozen).minus(dFrozen), t.currency),
                },
                after: { balance: formatAmount(r.balance, t.currency), frozen: formatAmount(r.frozen, t.currency), reference },
              };
            }),
          );
          return rows;
        },
        { maxWait: 30_000, timeout: 15_000 },
      ); // it may queue for a pooled connection behind a storm of movements
    try {
      const rows = await run(() => (auditing() ? audited() : statement(prisma)));
      const s = rows.find((r) => r.accountId === src.id);
      const d = rows.find((r) => r.accountId === dst.id);
      if (!s || !d) return done({ code: m.short, wallet: await viewOf(src.id), applied: false });
      return { code: "OK", wallet: toView({ currency: t.currency, ...s }), applied: true, to: toView({ currency: t.currency, ...d }) };
    } catch (e) {
      if (isUniqueViolation(e)) {
        const r = await replay(src, t.fromType, reference, amount);
        if (r) return done(r);
        const lost = await settlementRefusal(src, t.fromType, reference, amount, settle);
        if (lost) return done(lost);
      }
      throw e;
    }
  }

  /**
   * The internal operations other domains call on a member's wallet:
   *   FREEZE / UNFREEZE  inside the member's account (a wallet payment's hold and its release);
   *   CAPTURE            the frozen payment to SETTLEMENT (owed to the merchant);
   *   CREDIT             from SETTLEMENT (a refund of a wallet payment), or from `source`;
   *   TOPUP              a paid top-up, across the platform's edge;
   *   WITHDRAW           a freeze paid out (a withdrawal, a refunded top-up), across the edge.
   */
  async function apply(
    memberId: string,
    currency: string,
    amount: string,
    type: LedgerType,
    reference: string,
    source: SystemAccount = "SETTLEMENT",
  ): Promise<WalletOpResult> {
    const member = { memberId };
    if (type === "CAPTURE")
      return transfer({ from: member, fromType: "CAPTURE", to: { system: "SETTLEMENT" }, currency, amount, reference });
    if (type === "CREDIT" || type === "DEBIT") {
      // Validate the member side first: an unknown member is NO_ACCOUNT whatever the source holds.
      await checked(currency, amount, reference);
      if (!(await account(member, currency, true))) return { code: "NO_ACCOUNT", wallet: null, applied: false };
      const r =
        type === "CREDIT"
          ? await transfer({ from: { system: source }, fromType: "DEBIT", to: member, currency, amount, reference })
          : await transfer({ from: member, fromType: "DEBIT", to: { system: source }, currency, amount, reference });
      return type === "CREDIT" ? { code: r.code, wallet: r.to, applied: r.applied } : r;
    }
    return single(member, currency, amount, type, reference);
  }

  return {
    apply,
    single,
    transfer,
    account,
    async wallets(memberId: string): Promise<WalletView[]> {
      const rows = await prisma.walletAccount.findMany({ where: { memberId }, orderBy: { currency: "asc" } });
      await currencies.list();
      return rows.map(toView);
    },
    async walletsOf(memberIds: readonly string[]): Promise<WalletAccount[]> {
      return prisma.walletAccount.findMany({ where: { memberId: { in: [...memberIds] } }, orderBy: { currency: "asc" } });
    },
    /** Opens the missing accounts of one currency for all members (and the system accounts), `batch` members a statement. */
    async createAccounts(currency: string, batch = 500): Promise<number> {
      for (const system of SYSTEM_ACCOUNTS) await account({ system }, currency, true);
      let after = "";
      let created = 0;
      for (;;) {
        const ids = await prisma.member.findMany({
          where: { id: { gt: after } },
          orderBy: { id: "asc" },
          take: batch,
          select: { id: true },
        });
        if (!ids.length) return created;
        after = defined(ids.at(-1), "the page's last account").id;
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
