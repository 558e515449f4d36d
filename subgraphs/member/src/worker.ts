/**
 * The member domain's BullMQ workers: message sending (QueueName.messages, job `send`) and wallet
 * accounts for a new currency (QueueName.walletAccounts, job `create-accounts`) and the NEW_USER
 * coupons of a new member (QueueName.memberRegistered, job `issue-new-user-coupons`, calls promotion;
 * relayed from member's outbox, which this worker relays every second — `relayEveryMs`),
 * and members' inbox messages (QueueName.memberMessages, job `deliver`, from the producers' outboxes),
 * and the other domains' operator audit entries (QueueName.auditEntries, job `append`, decision 0024).
 */
import { tableAuditSink, type AuditEntry } from "@mallgraph/platform/audit";
import { serviceKeys } from "@mallgraph/platform/auth";
import { loadConfig, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { createQueue, createWorker, QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { runWorkersMain } from "@mallgraph/platform/subgraph";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createAccountsProcessor } from "./jobs/createAccounts.ts";
import { deliverMessageProcessor, type DeliverMessageJob } from "./jobs/deliverMessage.ts";
import { issueNewUserCouponsProcessor } from "./jobs/issueNewUserCoupons.ts";
import { sendMessageProcessor } from "./jobs/sendMessage.ts";
import { createCurrencyService } from "./services/currencies.ts";
import { createInboxService } from "./services/inbox.ts";
import { memberDatabaseUrl, memberOutboxRelay } from "./services/index.ts";
import type { CreateAccountsJob, IssueNewUserCouponsJob, SendMessageJob } from "./services/job-contracts.ts";
import { promotionNewUserCoupons, type NewUserCoupons } from "./services/promotion.ts";
import { messageCenterProvider, smtpProvider, type MessageProvider } from "./services/providers.ts";
import { createWalletService } from "./services/wallet.ts";

export interface MemberWorkerOptions {
  databaseUrl?: string;
  /** Replaces the providers (tests inject a failing one to see retries). */
  providers?: { center: MessageProvider; email?: MessageProvider };
  accountsBatch?: number;
  /** Replaces the promotion adapter (default: couponIssueNewUser at subgraphUrl(config, "promotion")). */
  newUserCoupons?: NewUserCoupons;
  /** Interval of the outbox relay (ms, default 1000). */
  relayEveryMs?: number;
}

export async function startWorkers(config: Config, opts: MemberWorkerOptions = {}): Promise<() => Promise<void>> {
  const log = logger("member-worker");
  const prisma = new PrismaClient({ adapter: runtimeAdapter(memberDatabaseUrl(config, opts.databaseUrl), 4) });
  const qctx = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const providers = opts.providers ?? {
    center: messageCenterProvider(log),
    email: config.SMTP_URL ? smtpProvider(config.SMTP_URL, config.MAIL_FROM) : undefined,
  };
  const wallet = createWalletService(prisma, createCurrencyService(prisma, undefined as never));
  const newUserCoupons =
    opts.newUserCoupons ?? promotionNewUserCoupons({ url: subgraphUrl(config, "promotion"), secret: serviceKeys(config) });
  const redis = createRedis(config.REDIS_URL);
  const messages = createQueue<SendMessageJob>(qctx, QueueName.messages);
  const inbox = createInboxService({ prisma, redis, prefix: config.REDIS_PREFIX, messages });
  const workers = [
    createWorker<SendMessageJob>(qctx, QueueName.messages, sendMessageProcessor({ prisma, providers, log }), { concurrency: 8 }),
    createWorker<CreateAccountsJob>(qctx, QueueName.walletAccounts, createAccountsProcessor(wallet, opts.accountsBatch), {
      concurrency: 1,
    }),
    createWorker<IssueNewUserCouponsJob>(qctx, QueueName.memberRegistered, issueNewUserCouponsProcessor(newUserCoupons), {
      concurrency: 4,
    }),
    createWorker<DeliverMessageJob>(qctx, QueueName.memberMessages, deliverMessageProcessor({ inbox, log }), { concurrency: 8 }),
    // an entry id already appended (a relay or a retry that repeats itself) is kept as it is
    createWorker<AuditEntry>(qctx, QueueName.auditEntries, (job) => tableAuditSink(prisma, [job.data]), { concurrency: 4 }),
  ];
  for (const w of workers)
    w.on("failed", (job, err) => log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "job failed"));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const outbox = memberOutboxRelay(prisma, qctx);
  const stopRelay = outbox.relay.start(opts.relayEveryMs ?? 1000);
  return async () => {
    await stopRelay();
    await outbox.close();
    await Promise.all(workers.map((w) => w.close()));
    await messages.close();
    redis.disconnect();
    await prisma.$disconnect();
  };
}

if (import.meta.url === `file://${process.argv[1]}`) runWorkersMain("member", () => startWorkers(loadConfig()));
