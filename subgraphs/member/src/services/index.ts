/** Builds every service of the member domain from configuration. */
import { auditedPrisma, tableAuditSink, type AuditLog } from "@mallgraph/platform/audit";
import { loadSigningKey, serviceKeys, type SigningKey } from "@mallgraph/platform/auth";
import { domainDatabaseBase, domainDatabaseUrl, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import { runtimeDb } from "@mallgraph/platform/prisma";
import { createQueue, QueueName, type QueueContext } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import type { Queue } from "bullmq";
import { PrismaClient } from "../generated/prisma/client.ts";
import { memberKeys, type MemberKeys } from "../keys.ts";
import { createAccountService, type AccountService } from "./account.ts";
import { createAddressMirror } from "./address-mirror.ts";
import { createAddressService, type AddressService } from "./addresses.ts";
import { createAdminService, type AdminService } from "./admin.ts";
import { createAuditService, type AuditService } from "./audit.ts";
import { createCurrencyService, type CurrencyService } from "./currencies.ts";
import { createInboxService, type InboxService } from "./inbox.ts";
import {
  MEMBER_REGISTERED_JOB_OPTIONS,
  type CreateAccountsJob,
  type IssueNewUserCouponsJob,
  type SendMessageJob,
} from "./job-contracts.ts";
import { createLedgerService, type LedgerService } from "./ledger.ts";
import { createLoginLock, type LoginLock } from "./loginLock.ts";
import { createMemberService, type MemberService } from "./members.ts";
import { createMessageService, type MessageService } from "./messages.ts";
import { lotteryMemberData, orderMemberOrders, type MemberLottery, type MemberOrders } from "./orders.ts";
import { createPartnerKeyService, type PartnerKeyService } from "./partners.ts";
import { createSessionService, type SessionService } from "./sessions.ts";
import { createSmsService, type SmsService, type SmsOptions } from "./sms.ts";
import { createWalletService, type WalletService } from "./wallet.ts";

export interface MemberServices {
  config: Config;
  prisma: PrismaClient;
  /** The operator audit trail (member owns it: its own entries go straight into "AuditEntry"). */
  audit: AuditLog;
  auditTrail: AuditService;
  redis: Redis;
  keys: MemberKeys;
  signingKey: SigningKey;
  queues: { messages: Queue<SendMessageJob>; walletAccounts: Queue<CreateAccountsJob>; memberRegistered: Queue<IssueNewUserCouponsJob> };
  sessions: SessionService;
  lock: LoginLock;
  sms: SmsService;
  members: MemberService;
  addresses: AddressService;
  currencies: CurrencyService;
  wallet: WalletService;
  ledger: LedgerService;
  admin: AdminService;
  messages: MessageService;
  partners: PartnerKeyService;
  inbox: InboxService;
  account: AccountService;
  /** The job outbox's relay (a registration's NEW_USER coupons job): after each registration, and periodically in the worker. */
  jobs: OutboxRelay;
  /** Tests only: `afterRegistration` runs after a registration committed, before its outbox is relayed (a throw there is a crash). */
  hooks: { afterRegistration?: (memberId: string) => void | Promise<void> };
  close: () => Promise<void>;
}

/** The relay of member's outbox (queue QueueName.memberRegistered, with its retry defaults); `close` closes its producers. */
export function memberOutboxRelay(prisma: PrismaClient, qctx: QueueContext): { relay: OutboxRelay; close: () => Promise<void> } {
  const q = outboxQueues(qctx, [QueueName.memberRegistered], { [QueueName.memberRegistered]: MEMBER_REGISTERED_JOB_OPTIONS });
  return { relay: new OutboxRelay({ db: prisma, queue: q.queue, log: logger("member-outbox") }), close: q.close };
}

/**
 * The member database URL: an explicit one, else MEMBER_DATABASE_URL (or DATABASE_URL) as it is when
 * it already names a schema (tests), else with `?schema=member`.
 */
export function memberDatabaseUrl(config: Config, databaseUrl?: string): string {
  if (databaseUrl) return databaseUrl;
  const base = domainDatabaseBase(config, "member");
  return new URL(base).searchParams.has("schema") ? base : domainDatabaseUrl(base, "member");
}

export interface BuildOptions {
  databaseUrl?: string;
  sms?: SmsOptions;
  /** Replaces the order adapter (default: memberOpenOrders / memberOrdersExport at subgraphUrl(config, "order")). */
  orders?: MemberOrders;
  /** Replaces the lottery adapter (default: memberLotteryExport at subgraphUrl(config, "lottery")). */
  lottery?: MemberLottery;
}

export async function buildMemberServices(config: Config, opts: BuildOptions = {}): Promise<MemberServices> {
  // the Prisma client and plain SQL on one pool (decision 0035): the order placement's address read is plain SQL
  const db = runtimeDb(memberDatabaseUrl(config, opts.databaseUrl));
  const { prisma, log: audit } = auditedPrisma(new PrismaClient({ adapter: db.adapter }), "member", tableAuditSink);
  const redis = createRedis(config.REDIS_URL);
  const keys = memberKeys(config.REDIS_PREFIX);
  const signingKey = await loadSigningKey(config.JWT_PRIVATE_JWK);
  const qctx = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const queues = {
    messages: createQueue<SendMessageJob>(qctx, QueueName.messages),
    walletAccounts: createQueue<CreateAccountsJob>(qctx, QueueName.walletAccounts),
    memberRegistered: createQueue<IssueNewUserCouponsJob>(qctx, QueueName.memberRegistered, MEMBER_REGISTERED_JOB_OPTIONS),
  };
  const jobs = memberOutboxRelay(prisma, qctx);
  const hooks: MemberServices["hooks"] = {};
  const onRegistered = async (memberId: string) => {
    await hooks.afterRegistration?.(memberId);
    await jobs.relay.flush();
  };
  const sessions = createSessionService({
    redis,
    prefix: config.REDIS_PREFIX,
    keys,
    signingKey,
    issuer: config.JWT_ISSUER,
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  });
  const lock = createLoginLock(redis, keys);
  const sms = createSmsService(redis, keys, queues.messages, opts.sms);
  const currencies = createCurrencyService(prisma, queues.walletAccounts);
  const wallet = createWalletService(prisma, currencies);
  const addressMirror = createAddressMirror(redis, config.REDIS_PREFIX);
  return {
    config,
    prisma,
    audit,
    auditTrail: createAuditService(prisma),
    redis,
    keys,
    signingKey,
    queues,
    sessions,
    lock,
    sms,
    members: createMemberService(prisma, sms, sessions, lock, onRegistered),
    addresses: createAddressService(prisma, db.sql, addressMirror),
    currencies,
    wallet,
    ledger: createLedgerService(prisma, wallet),
    admin: createAdminService(prisma, sessions, lock),
    messages: createMessageService(prisma),
    partners: createPartnerKeyService(prisma, redis, config.REDIS_PREFIX),
    account: createAccountService({
      prisma,
      sms,
      sessions,
      lock,
      orders: opts.orders ?? orderMemberOrders({ url: subgraphUrl(config, "order"), secret: serviceKeys(config) }),
      lottery: opts.lottery ?? lotteryMemberData({ url: subgraphUrl(config, "lottery"), secret: serviceKeys(config) }),
      addressMirror,
    }),
    inbox: createInboxService({ prisma, redis, prefix: config.REDIS_PREFIX, messages: queues.messages }),
    jobs: jobs.relay,
    hooks,
    close: async () => {
      await Promise.all([queues.messages.close(), queues.walletAccounts.close(), queues.memberRegistered.close(), jobs.close()]);
      redis.disconnect();
      await prisma.$disconnect();
      await db.end();
    },
  };
}
