/**
 * Demo data of the member domain (idempotent, upserts): currencies CNY/USD/JPY, every permission,
 * role "superadmin" with all of them, operator `admin` with config.ADMIN_PASSWORD, and a marketing
 * budget (red-envelope rains are funded from it): a transfer ADJUSTMENT → MARKETING per currency,
 * once (its idempotency key).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import type { Queue } from "bullmq";
import { PrismaClient } from "./generated/prisma/client.ts";
import { PERMISSIONS, PERMISSION_NAMES } from "./permissions.ts";
import { createCurrencyService } from "./services/currencies.ts";
import { memberDatabaseUrl } from "./services/index.ts";
import type { CreateAccountsJob } from "./services/job-contracts.ts";
import { createLedgerService } from "./services/ledger.ts";
import { hashPassword, verifyPassword } from "./services/password.ts";
import { createWalletService } from "./services/wallet.ts";

export const SEED_CURRENCIES = [
  { code: "CNY", name: "Chinese Yuan", decimals: 2 },
  { code: "USD", name: "US Dollar", decimals: 2 },
  { code: "JPY", name: "Japanese Yen", decimals: 0 },
];

/** The demo marketing budget per currency. */
export const SEED_MARKETING_BUDGET: Record<string, string> = { CNY: "100000.00", USD: "10000.00", JPY: "1000000" };

export async function seed(config: Config, databaseUrl?: string): Promise<string> {
  const prisma = new PrismaClient({ adapter: runtimeAdapter(memberDatabaseUrl(config, databaseUrl), 2) });
  try {
    for (const c of SEED_CURRENCIES) await prisma.currency.upsert({ where: { code: c.code }, create: c, update: { name: c.name } });
    for (const name of PERMISSION_NAMES)
      await prisma.permission.upsert({
        where: { name },
        create: { name, description: PERMISSIONS[name] },
        update: { description: PERMISSIONS[name] },
      });
    const role = await prisma.role.upsert({
      where: { name: "superadmin" },
      create: { name: "superadmin", description: "every permission" },
      update: {},
    });
    await prisma.rolePermission.createMany({
      data: PERMISSION_NAMES.map((permission) => ({ roleId: role.id, permission })),
      skipDuplicates: true,
    });
    const existing = await prisma.operator.findUnique({ where: { username: "admin" } });
    const passwordHash =
      existing && (await verifyPassword(config.ADMIN_PASSWORD, existing.passwordHash))
        ? existing.passwordHash
        : await hashPassword(config.ADMIN_PASSWORD);
    const admin = await prisma.operator.upsert({
      where: { username: "admin" },
      create: { username: "admin", passwordHash },
      update: { passwordHash, disabled: false },
    });
    await prisma.operatorRole.createMany({ data: [{ operatorId: admin.id, roleId: role.id }], skipDuplicates: true });
    // Members registered before a currency existed get its account here too.
    let opened = 0;
    for (const c of SEED_CURRENCIES)
      opened +=
        await prisma.$executeRaw`INSERT INTO "WalletAccount" (id, "memberId", currency) SELECT gen_random_uuid()::text, m.id, ${c.code} FROM "Member" m ON CONFLICT ("memberId", currency) DO NOTHING`;
    // The seed adds currencies itself (above); the currency service's queue is never used here.
    const noQueue = { add: () => Promise.reject(new Error("the seed enqueues nothing")) } as unknown as Queue<CreateAccountsJob>;
    const ledger = createLedgerService(prisma, createWalletService(prisma, createCurrencyService(prisma, noQueue)));
    for (const [currency, amount] of Object.entries(SEED_MARKETING_BUDGET)) {
      const r = await ledger.fundMarketing(currency, amount, "demo marketing budget", `demo-budget-${currency}`);
      if (r.code !== "OK") throw new Error(`marketing budget ${currency}: ${r.code}`);
    }
    return `${SEED_CURRENCIES.length} currencies, ${PERMISSION_NAMES.length} permissions, role superadmin, operator admin, marketing budget${opened ? `, ${opened} wallet accounts opened` : ""}`;
  } finally {
    await prisma.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await seed(loadConfig()));
}
