/** Processor of QueueName.walletAccounts, job `create-accounts`: opens a currency's missing accounts (idempotent). */
import type { Job } from "bullmq";
import type { CreateAccountsJob } from "../services/job-contracts.ts";
import type { WalletService } from "../services/wallet.ts";

export function createAccountsProcessor(wallet: WalletService, batch = 500) {
  return async (job: Pick<Job<CreateAccountsJob>, "data">): Promise<{ created: number }> => {
    return { created: await wallet.createAccounts(job.data.currency, batch) };
  };
}
