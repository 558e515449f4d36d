/**
 * Environment configuration, validated once at start. Every value has a default that works on a
 * developer machine (PostgreSQL and Redis on 127.0.0.1).
 */
import { z } from "zod";
import { redisClusterUrl } from "./redis-url.ts";

/** Development defaults of the secrets; production refuses to start with them (productionProblems). */
export const DEV_INTERNAL_SECRET = "dev-internal-secret-change-me";
export const DEV_ADMIN_PASSWORD = "admin123";
/** Shortest secret production accepts. */
export const MIN_SECRET_LENGTH = 32;

/** A URL that may be unset; empty counts as unset (`X: ${X:-}` in docker compose). */
const optionalUrl = z.preprocess((v) => (v === "" ? undefined : v), z.string().url().optional());

const schema = z.object({
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Base URL of the PostgreSQL database; each subgraph adds `?schema=<domain>`. */
  /** The password matches docker-compose's PostgreSQL (a local server with trust auth ignores it). */
  DATABASE_URL: z.string().url().default("postgresql://postgres:postgres@127.0.0.1:5432/mallgraph"),
  /**
   * Per-domain database overrides (a database per domain, each on its own server if need be): unset,
   * the domain uses DATABASE_URL. The domain's schema is still named after the domain.
   */
  MEMBER_DATABASE_URL: optionalUrl,
  CATALOG_DATABASE_URL: optionalUrl,
  ORDER_DATABASE_URL: optionalUrl,
  PAYMENT_DATABASE_URL: optionalUrl,
  PROMOTION_DATABASE_URL: optionalUrl,
  LOTTERY_DATABASE_URL: optionalUrl,
  /**
   * The Redis server. Resolved: with REDIS_CLUSTER_NODES set, the cluster's connection string
   * `redis-cluster://[credentials of REDIS_URL@]host:port,…` (what createRedis and BullMQ connect to).
   */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** A Redis Cluster instead of one server: comma-separated `host:port` of some of its nodes (decision 0033). */
  REDIS_CLUSTER_NODES: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .regex(/^\s*[^\s,]+:\d{1,5}(\s*,\s*[^\s,]+:\d{1,5})*\s*$/, "comma-separated host:port")
      .optional(),
  ),
  /** Prefix of every Redis key and BullMQ queue of this deployment (tests use a random one). */
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default("mg"),
  /** Shared secret the gateway signs the caller's identity with; subgraphs verify it. */
  INTERNAL_SECRET: z.string().min(16).default(DEV_INTERNAL_SECRET),
  /**
   * Each service's own identity-header secret (decision 0017); unset: derived from INTERNAL_SECRET
   * and the service's name. A process needs its own and those of the services that call it.
   */
  SERVICE_SECRET_GATEWAY: z.string().min(32).optional(),
  SERVICE_SECRET_MEMBER: z.string().min(32).optional(),
  SERVICE_SECRET_CATALOG: z.string().min(32).optional(),
  SERVICE_SECRET_CART: z.string().min(32).optional(),
  SERVICE_SECRET_ORDER: z.string().min(32).optional(),
  SERVICE_SECRET_PAYMENT: z.string().min(32).optional(),
  SERVICE_SECRET_PROMOTION: z.string().min(32).optional(),
  SERVICE_SECRET_LOTTERY: z.string().min(32).optional(),
  GATEWAY_PORT: z.coerce.number().int().default(4000),
  MEMBER_PORT: z.coerce.number().int().default(4001),
  CATALOG_PORT: z.coerce.number().int().default(4002),
  CART_PORT: z.coerce.number().int().default(4003),
  ORDER_PORT: z.coerce.number().int().default(4004),
  PAYMENT_PORT: z.coerce.number().int().default(4005),
  PROMOTION_PORT: z.coerce.number().int().default(4006),
  LOTTERY_PORT: z.coerce.number().int().default(4007),
  /**
   * This process among several of its kind (decision 0033): in every log line, /health and a BullMQ
   * job's processedBy. Unset: `<hostname>-<pid>` (instance.ts).
   */
  INSTANCE_ID: z.preprocess((v) => (v === "" ? undefined : v), z.string().max(100).optional()),
  /** The workers process: /health, /ready and /metrics only. */
  WORKERS_PORT: z.coerce.number().int().default(4008),
  /** Host the subgraphs listen on and the gateway reaches them at (one machine). */
  SERVICE_HOST: z.string().default("127.0.0.1"),
  /** Per-service URL overrides (several hosts, e.g. docker compose): MEMBER_URL=http://member:4001/graphql. */
  MEMBER_URL: z.string().url().optional(),
  CATALOG_URL: z.string().url().optional(),
  CART_URL: z.string().url().optional(),
  ORDER_URL: z.string().url().optional(),
  PAYMENT_URL: z.string().url().optional(),
  PROMOTION_URL: z.string().url().optional(),
  LOTTERY_URL: z.string().url().optional(),
  /** Private signing key of access tokens as a JWK (JSON). Unset: a key is generated into .data/. */
  JWT_PRIVATE_JWK: z.string().optional(),
  JWT_ISSUER: z.string().default("mallgraph"),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 24 * 3600),
  ADMIN_PASSWORD: z.string().min(6).default(DEV_ADMIN_PASSWORD),
  /** The SANDBOX payment channel (buyers complete their own payments): default on outside production only. */
  // a string from the environment, or the boolean of an already loaded Config passed again
  SANDBOX_ENABLED: z.union([z.enum(["true", "false"]), z.boolean()]).optional(),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().default("mallgraph <no-reply@mallgraph.local>"),
  ELASTICSEARCH_URL: z.string().optional(),
  SEARCH_BACKEND: z.enum(["postgres", "elasticsearch"]).default("postgres"),
  ORDER_PAYMENT_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60),
  /** Payment time-out of seckill (flash-sale) orders: shorter, their stock goes back to the session. */
  SECKILL_PAYMENT_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(300),
  /** Redis shards a seckill item's stock is split over unless the session names its own (hot SKUs on a Redis Cluster). */
  SECKILL_STOCK_SHARDS: z.coerce.number().int().min(1).max(64).default(1),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(12),
  MAX_QUERY_COST: z.coerce.number().int().positive().default(5000),
});

export type Config = Omit<z.infer<typeof schema>, "SANDBOX_ENABLED"> & {
  /** Resolved: SANDBOX_ENABLED when set, else on outside production. */
  SANDBOX_ENABLED: boolean;
};

let cached: Config | undefined;

/** Settings holding secrets: INTERNAL_SECRET and every other `*_SECRET` / `*_SECRET_<x>` variable. */
function secretSettings(env: NodeJS.ProcessEnv, config: Config): Array<[string, string]> {
  const names = new Set(Object.keys(env).filter((k) => /(^|_)SECRET(_[A-Z0-9_]+)?$/.test(k)));
  names.add("INTERNAL_SECRET");
  return [...names].sort().map((k) => [k, String((config as Record<string, unknown>)[k] ?? env[k] ?? "")]);
}

/**
 * What production refuses to start with (each line names its variable): default or short secrets,
 * the default admin password, a JWT key generated on disk instead of JWT_PRIVATE_JWK, and the
 * SANDBOX channel (buyers mark their own orders paid). Empty outside production.
 */
export function productionProblems(config: Config, env: NodeJS.ProcessEnv = {}): string[] {
  if (config.NODE_ENV !== "production") return [];
  const problems: string[] = [];
  for (const [name, value] of secretSettings(env, config)) {
    if (value === DEV_INTERNAL_SECRET || /change-?me/i.test(value))
      problems.push(`${name}: the development default; set a random secret of at least ${MIN_SECRET_LENGTH} characters`);
    else if (value.length < MIN_SECRET_LENGTH) problems.push(`${name}: shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  if (config.ADMIN_PASSWORD === DEV_ADMIN_PASSWORD || /change-?me/i.test(config.ADMIN_PASSWORD))
    problems.push(`ADMIN_PASSWORD: the default password; set another one`);
  if (!config.JWT_PRIVATE_JWK) problems.push(`JWT_PRIVATE_JWK: unset (a key generated on disk); set the private JWK`);
  if (config.SANDBOX_ENABLED)
    problems.push(`SANDBOX_ENABLED: the SANDBOX channel lets buyers mark their own orders paid; not in production`);
  return problems;
}

/** Reads and validates the environment (once); throws a readable error naming bad variables. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  const { SANDBOX_ENABLED, ...rest } = parsed.data;
  const config: Config = {
    ...rest,
    REDIS_URL: rest.REDIS_CLUSTER_NODES ? redisClusterUrl(rest.REDIS_CLUSTER_NODES, rest.REDIS_URL) : rest.REDIS_URL,
    SANDBOX_ENABLED:
      SANDBOX_ENABLED === undefined ? rest.NODE_ENV !== "production" : SANDBOX_ENABLED === true || SANDBOX_ENABLED === "true",
  };
  const unsafe = productionProblems(config, env);
  if (unsafe.length)
    throw new Error(`unsafe configuration for production (NODE_ENV=production):\n${unsafe.map((l) => `  ${l}`).join("\n")}`);
  if (env === process.env) cached = config;
  return config;
}

/** Forget the cached configuration (tests change process.env between suites). */
export function resetConfig(): void {
  cached = undefined;
}

/** The database URL of one domain: the base URL with `?schema=<schema>`. */
export function domainDatabaseUrl(base: string, schemaName: string): string {
  const u = new URL(base);
  u.searchParams.set("schema", schemaName);
  return u.toString();
}

export const DOMAINS = ["member", "catalog", "cart", "order", "payment", "promotion", "lottery"] as const;
export type Domain = (typeof DOMAINS)[number];
/** The domains with a PostgreSQL schema of their own (cart keeps its state in Redis). */
export const DATABASE_DOMAINS = ["member", "catalog", "order", "payment", "promotion", "lottery"] as const;
export type DatabaseDomain = (typeof DATABASE_DOMAINS)[number];

/** The database a domain lives in: `<DOMAIN>_DATABASE_URL` when set, else DATABASE_URL (no schema chosen). */
export function domainDatabaseBase(config: Pick<Config, "DATABASE_URL"> & Partial<Config>, domain: DatabaseDomain): string {
  return (config[`${domain.toUpperCase()}_DATABASE_URL` as keyof Config] as string | undefined) || config.DATABASE_URL;
}

/** A domain's database URL: its database (domainDatabaseBase) with `?schema=<domain>`. */
export function databaseUrlOf(config: Pick<Config, "DATABASE_URL"> & Partial<Config>, domain: DatabaseDomain): string {
  return domainDatabaseUrl(domainDatabaseBase(config, domain), domain);
}

/** Where a domain's subgraph is reached: `<DOMAIN>_URL` when set, else SERVICE_HOST and its port. */
export function subgraphUrl(config: Config, domain: Domain): string {
  const override = config[`${domain.toUpperCase()}_URL` as keyof Config] as string | undefined;
  if (override) return override;
  const port = config[`${domain.toUpperCase()}_PORT` as keyof Config] as number;
  return `http://${config.SERVICE_HOST}:${port}/graphql`;
}
