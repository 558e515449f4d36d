/** Builds the payment domain's services from configuration (shared by the server and the worker). */
import { auditedPrisma, outboxAuditSink, type AuditLog } from "@mallgraph/platform/audit";
import { serviceKeys, type Keys } from "@mallgraph/platform/auth";
import { databaseUrlOf, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { createQueue, QueueName, type Queue } from "@mallgraph/platform/queue";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { WorkflowRunner, type WorkflowRunnerOptions } from "@mallgraph/platform/workflow";
import { AlipayAdapter } from "../channels/alipay.ts";
import { SandboxAdapter } from "../channels/sandbox.ts";
import { fetchTransport, type HttpTransport } from "../channels/types.ts";
import { WalletAdapter } from "../channels/wallet.ts";
import { WechatPayAdapter } from "../channels/wechat.ts";
import { PrismaClient } from "../generated/prisma/client.ts";
import { SandboxProvider, type Deliver } from "../sandbox/provider.ts";
import { MerchantService } from "./merchants.ts";
import { PaymentService } from "./payments.ts";
import { servicePorts, type Ports } from "./ports.ts";
import { ReportService } from "./reports.ts";
import { NOTIFY_JOB_OPTIONS, type PaymentTestHooks, type Tx } from "./shared.ts";

export interface PaymentServiceOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to PAYMENT_DATABASE_URL (else DATABASE_URL) with schema "payment". */
  databaseUrl?: string;
  /** Order and member dependencies; default: their subgraphs through createServiceClient. */
  ports?: Ports;
  orderUrl?: string;
  memberUrl?: string;
  /** How the Alipay / WeChat Pay adapters reach the providers (tests: a local fake provider). */
  transport?: HttpTransport;
  /** Seconds an unpaid payment stays open (env PAYMENT_TIMEOUT_SECONDS, default 900). */
  paymentTimeoutSeconds?: number;
  /** App that takes shop orders (env PAYMENT_DEFAULT_APP_ID; default: the app marked default). */
  defaultAppId?: string;
  /** Base URL providers call back; default PAYMENT_CALLBACK_BASE_URL, else PAYMENT_URL's origin, else http://SERVICE_HOST:<port>. */
  callbackBaseUrl?: string;
  /** The sandbox provider's delivery of notifications (default: HTTP POST). */
  sandboxDeliver?: Deliver;
  /** The workflow runner's lease, retry budget and backoff (tests shorten them). */
  workflow?: Pick<WorkflowRunnerOptions<Tx>, "leaseMs" | "maxAttempts" | "backoffMs">;
}

export interface PaymentServices {
  prisma: PrismaClient;
  /** The operator audit trail: entries go to the outbox, relayed to member's trail (decision 0024). */
  audit: AuditLog;
  redis: Redis;
  merchants: MerchantService;
  payments: PaymentService;
  reports: ReportService;
  sandbox: SandboxProvider;
  wallet: WalletAdapter;
  queues: { timeouts: Queue; notify: Queue; reconcile: Queue };
  /** The job outbox's relay (status events, order/wallet notifications); the worker runs it periodically. */
  jobs: OutboxRelay;
  /** Durable workflows (wallet payments, provider checkouts): the worker sweeps them (`workflows.start`). */
  workflows: WorkflowRunner<Tx>;
  /** Tests only (see PaymentTestHooks). */
  hooks: PaymentTestHooks;
  internalSecret: Keys;
  /** SANDBOX_ENABLED: off, the SANDBOX channel cannot be used and sandboxCompletePayment is refused. */
  sandboxEnabled: boolean;
  /** Sets the callback base once the server knows its port. */
  setCallbackBase(url: string): void;
  close(): Promise<void>;
}

/** A host to reach a server listening on `host` (0.0.0.0 / :: listen everywhere: use loopback). */
export function reachableHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}

export async function createPaymentServices(opts: PaymentServiceOptions): Promise<PaymentServices> {
  const { config } = opts;
  const env = process.env;
  const { prisma, log: audit } = auditedPrisma(
    new PrismaClient({ adapter: runtimeAdapter(opts.databaseUrl ?? databaseUrlOf(config, "payment")) }),
    "payment",
    outboxAuditSink,
  );
  const redis = createRedis(config.REDIS_URL);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const queues = {
    timeouts: createQueue(q, QueueName.paymentTimeouts),
    notify: createQueue(q, QueueName.paymentNotify),
    reconcile: createQueue(q, QueueName.paymentReconcile),
  };
  const log = logger("payment");
  const jobQueues = outboxQueues(q, [QueueName.paymentNotify, QueueName.auditEntries], { [QueueName.paymentNotify]: NOTIFY_JOB_OPTIONS });
  const jobs = new OutboxRelay({ db: prisma, queue: jobQueues.queue, log });
  const hooks: PaymentTestHooks = {};
  const ports =
    opts.ports ??
    servicePorts({
      orderUrl: opts.orderUrl ?? subgraphUrl(config, "order"),
      memberUrl: opts.memberUrl ?? subgraphUrl(config, "member"),
      secret: serviceKeys(config),
    });
  const sandbox = new SandboxProvider(prisma, {
    privateKeyPem: env.SANDBOX_PRIVATE_KEY_PEM,
    publicKeyPem: env.SANDBOX_PUBLIC_KEY_PEM,
    deliver: opts.sandboxDeliver,
  });
  await sandbox.init();
  const transport = opts.transport ?? fetchTransport;
  const wallet = new WalletAdapter(ports.wallet);
  const adapters = {
    SANDBOX: new SandboxAdapter(sandbox),
    WALLET: wallet,
    ALIPAY: new AlipayAdapter(transport),
    WECHAT_PAY: new WechatPayAdapter(transport),
  };
  const merchants = new MerchantService(prisma, { defaultAppId: opts.defaultAppId ?? env.PAYMENT_DEFAULT_APP_ID });
  const explicitBase =
    opts.callbackBaseUrl ?? env.PAYMENT_CALLBACK_BASE_URL ?? (config.PAYMENT_URL ? new URL(config.PAYMENT_URL).origin : undefined);
  let callbackBase = explicitBase ?? `http://${reachableHost(config.SERVICE_HOST)}:${config.PAYMENT_PORT}`;
  const workflows = new WorkflowRunner<Tx>({
    domain: "payment",
    db: prisma,
    log,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    ...opts.workflow,
  });
  const payments = new PaymentService({
    prisma,
    ports,
    adapters,
    wallet,
    merchants,
    timeoutsQueue: queues.timeouts,
    notifyQueue: queues.notify,
    outbox: jobs,
    hooks,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    options: {
      timeoutSeconds: opts.paymentTimeoutSeconds ?? Number(env.PAYMENT_TIMEOUT_SECONDS ?? 900),
      callbackBaseUrl: () => callbackBase,
      sandboxEnabled: config.SANDBOX_ENABLED,
    },
    workflows,
    log,
  });
  return {
    prisma,
    audit,
    redis,
    merchants,
    payments,
    reports: ReportService.forSandbox(prisma, sandbox),
    sandbox,
    wallet,
    queues,
    jobs,
    workflows,
    hooks,
    internalSecret: serviceKeys(config),
    sandboxEnabled: config.SANDBOX_ENABLED,
    setCallbackBase(url) {
      if (!explicitBase) callbackBase = url;
    },
    async close() {
      await Promise.all([...Object.values(queues).map((x) => x.close()), jobQueues.close()]);
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
