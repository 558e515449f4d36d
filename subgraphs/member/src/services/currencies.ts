/** Currencies (the wallet's units). Their digits also feed the platform's parseAmount/formatAmount. */
import { registerCurrency } from "@mallgraph/platform/money";
import type { Queue } from "bullmq";
import { alreadyExists, badInput, isUniqueViolation } from "../errors.ts";
import type { PrismaClient, Currency } from "../generated/prisma/client.ts";
import type { CreateAccountsJob } from "./job-contracts.ts";
import { text } from "./rules.ts";

export function createCurrencyService(prisma: PrismaClient, walletAccounts: Queue<CreateAccountsJob>) {
  const known = new Map<string, number>();
  function remember(c: { code: string; decimals: number }) {
    known.set(c.code, c.decimals);
    // The platform's money helpers know ISO digits of a few codes; ours come from the table.
    registerCurrency(c.code, c.decimals);
  }
  return {
    async list(): Promise<Currency[]> {
      const all = await prisma.currency.findMany({ orderBy: { code: "asc" } });
      all.forEach(remember);
      return all;
    },
    /** Digits of a currency; BAD_USER_INPUT for a code we do not have. */
    async decimals(code: string): Promise<number> {
      const hit = known.get(code);
      if (hit !== undefined) return hit;
      const c = typeof code === "string" && code.length <= 10 ? await prisma.currency.findUnique({ where: { code } }) : null;
      if (!c) throw badInput(`unknown currency ${code}`, { field: "currency" });
      remember(c);
      return c.decimals;
    },
    async add(codeIn: string, nameIn: string, decimals: number): Promise<Currency> {
      const code = typeof codeIn === "string" ? codeIn.trim().toUpperCase() : "";
      if (!/^[A-Z]{3}$/.test(code)) throw badInput("code must be three letters (ISO 4217)", { field: "code" });
      const name = text(nameIn, "name", 50);
      if (!Number.isInteger(decimals) || decimals < 0 || decimals > 4) throw badInput("decimals must be 0 to 4", { field: "decimals" });
      let c: Currency;
      try {
        c = await prisma.currency.create({ data: { code, name, decimals } });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyExists("currency");
        throw e;
      }
      try {
        await walletAccounts.add("create-accounts", { currency: code }, { jobId: `create-accounts-${code}` });
      } catch (e) {
        // Without its job the currency would never get its accounts: take it back, so the operator
        // may simply try again (nothing can reference a currency nobody was told about yet).
        await prisma.currency.delete({ where: { code } }).catch(() => undefined);
        throw e;
      }
      remember(c);
      return c;
    },
  };
}
export type CurrencyService = ReturnType<typeof createCurrencyService>;
