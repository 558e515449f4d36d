/**
 * The one shape of a subgraph (decision 0027). A subgraph's `src/index.ts` declares only what is its
 * own — its name, schema, resolvers, how its services are built and closed, its context and extra
 * routes — and `defineSubgraph` does the rest the same way for every domain: the port and host from
 * the configuration, the services' identity keys, the readiness probe (PostgreSQL and Redis answer),
 * closing the services when the server cannot start, and `stop` (server first, then the services).
 *
 *   export const createOrderSubgraph = defineSubgraph({
 *     name: "order", typeDefs, resolvers,
 *     services: createOrderServices, close: closeOrderServices,
 *     context: (base, services) => createContext(base, services),
 *   });
 */
import type { BaseContext } from "./access.ts";
import type { AuditLog } from "./audit.ts";
import { serviceKeys } from "./auth.ts";
import type { Config, Domain } from "./config.ts";
import { startSubgraph, type RouteHandler, type RunningSubgraph, type SubgraphOptions } from "./subgraph.ts";

/** What every subgraph's options carry: the configuration, and a port to override `<DOMAIN>_PORT` (0: any free port). */
export interface SubgraphStartOptions {
  config: Config;
  port?: number;
}

/** The stores a services object may hold, probed by the default readiness check. */
export interface Stores {
  prisma?: { $queryRaw: (query: TemplateStringsArray, ...values: unknown[]) => PromiseLike<unknown> };
  redis?: { ping: () => Promise<unknown> };
}

export interface SubgraphDefinition<O extends SubgraphStartOptions, S, C extends BaseContext> {
  name: Domain;
  typeDefs: string;
  resolvers: unknown;
  /** Builds the services (Prisma, Redis, queues, ports to other domains) from the options. */
  services: (opts: O) => S | Promise<S>;
  /** Closes what `services` opened. */
  close: (services: S) => Promise<void>;
  /** The request context from the verified identity. */
  context: (base: BaseContext, services: S) => C;
  /** Readiness probe (/ready answers 503 while it throws); default: `storesAnswer`. */
  ready?: (services: S) => Promise<void>;
  /** Extra HTTP routes, keyed by "METHOD /path". */
  routes?: (services: S) => Record<string, RouteHandler>;
  /** Runs before the server listens (e.g. restoring a Redis mirror). */
  beforeStart?: (services: S) => Promise<unknown>;
  /** Runs once the server listens (e.g. learning the URL it is reached at). */
  afterStart?: (services: S, running: RunningSubgraph, opts: O) => unknown;
  /** Server switches of `startSubgraph` (fast path, session revocation, Apollo plugins). */
  server?: Pick<SubgraphOptions<C>, "fastPath" | "revokesSessions" | "plugins">;
}

/** The running subgraph with its services (tests reach into them). */
export type RunningSubgraphWith<S> = RunningSubgraph & { services: S };

/** The default readiness probe: PostgreSQL answers `SELECT 1` and Redis answers PING (those the services hold). */
export async function storesAnswer(services: unknown): Promise<void> {
  const s = services as Stores;
  if (s.prisma) await s.prisma.$queryRaw`SELECT 1`;
  if (s.redis) await s.redis.ping();
}

/** The `<DOMAIN>_PORT` of the configuration. */
export function subgraphPort(config: Config, name: Domain): number {
  return config[`${name.toUpperCase()}_PORT` as keyof Config] as number;
}

/** Turns a subgraph's definition into its `create<Domain>Subgraph(opts)`. */
export function defineSubgraph<O extends SubgraphStartOptions, S, C extends BaseContext>(
  def: SubgraphDefinition<O, S, C>,
): (opts: O & SubgraphStartOptions) => Promise<RunningSubgraphWith<S>> {
  return async (opts) => {
    const services = await def.services(opts);
    let running: RunningSubgraph;
    try {
      await def.beforeStart?.(services);
      running = await startSubgraph<C>({
        name: def.name,
        typeDefs: def.typeDefs,
        resolvers: def.resolvers,
        port: opts.port ?? subgraphPort(opts.config, def.name),
        host: opts.config.SERVICE_HOST,
        internalSecret: serviceKeys(opts.config),
        // the domain's audit trail (decision 0024): operator Mutations fail closed without it
        audit: (services as { audit?: AuditLog }).audit,
        context: (base) => def.context(base, services),
        routes: def.routes?.(services),
        ready: () => (def.ready ?? storesAnswer)(services),
        ...def.server,
      });
      def.afterStart?.(services, running, opts);
    } catch (e) {
      await def.close(services).catch(() => undefined);
      throw e;
    }
    return {
      ...running,
      services,
      stop: async () => {
        await running.stop();
        await def.close(services);
      },
    };
  };
}
