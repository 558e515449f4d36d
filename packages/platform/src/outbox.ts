/**
 * The transactional outbox for BullMQ jobs, one table per owning schema (`"Outbox"`, see
 * OUTBOX_MODEL below): a service writes the jobs its change causes in the SAME transaction as the
 * change (`writeOutbox(tx, …)`), and a relay moves committed rows to their BullMQ queues.
 *
 * - Nothing is lost: a row stays pending until the relay has added its job to Redis; a crash at any
 *   point leaves it pending for the next relay run (after commit right away, or the periodic one).
 * - The writer relays its own rows: its `flush` after the commit takes every pending row, so the jobs
 *   are added inside its request's trace (and continue it); the periodic relay (`start`, in the
 *   workers) leaves rows younger than `periodicMinAgeMs` to it and takes those whose writer died.
 * - Nothing is sent twice: each row's `id` is its idempotency key and becomes the BullMQ `jobId`,
 *   so re-adding a job still in Redis is a no-op; consumers key their effect on `job.id` as well
 *   (a unique column), which covers a job re-added after BullMQ already removed the completed one.
 * - Writing the same key twice keeps the first row (ON CONFLICT DO NOTHING): "once per coupon" and
 *   the like are a deterministic key.
 * - Relays run anywhere and in parallel: rows are claimed with FOR UPDATE SKIP LOCKED inside the
 *   relay's transaction and marked sent only when the jobs are in Redis.
 *
 * The helper speaks raw SQL, so any domain's Prisma client (or transaction client) works.
 *
 * Prisma model every owning schema copies (with its migration):
 *
 *   model Outbox {
 *     id        String    @id
 *     queue     String
 *     name      String
 *     data      Json
 *     createdAt DateTime  @default(now())
 *     sentAt    DateTime?
 *     attempts  Int       @default(0)
 *     lastError String?
 *     @@index([sentAt, createdAt])
 *   }
 */
import type { JobsOptions, Queue } from "bullmq";
import { unaudited } from "./audit-scope.ts";
import { badInput } from "./errors.ts";
import type { Logger } from "./log.ts";
import { relayedJob, relayedJobs } from "./outbox-events.ts";
import { atMostEvery, periodic } from "./periodic.ts";
import { createQueue, QueueName, type QueueContext } from "./queue.ts";

// the live events a change writes into its outbox, and their consumers (./outbox-events.ts)
export {
  liveEventJob,
  liveEventsJob,
  publishLiveEventJob,
  publishLiveEventsJob,
  PUBLISH_EVENT_JOB,
  PUBLISH_EVENTS_JOB,
  type LiveEventJobData,
  type LiveEventsJobData,
} from "./outbox-events.ts";

/** What a Prisma client or transaction client offers that the outbox needs. */
export interface OutboxSql {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

export interface OutboxDb extends OutboxSql {
  $transaction<R>(fn: (tx: OutboxSql) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

export interface OutboxJob<T = unknown> {
  /** Idempotency key and BullMQ jobId: letters, digits, `-`, `_`, `.` (BullMQ refuses `:`), not a bare number. */
  key: string;
  queue: QueueName;
  /** The BullMQ job name. */
  name: string;
  data: T;
}

const KEY_RE = /^[A-Za-z0-9_.-]{1,200}$/;

export function assertOutboxKey(key: string): string {
  if (typeof key !== "string" || !KEY_RE.test(key) || /^\d+$/.test(key))
    throw badInput(`outbox key ${JSON.stringify(key)} must be 1-200 of [A-Za-z0-9_.-] and not a bare number`, { field: "key" });
  return key;
}

/** Writes jobs into the outbox of the transaction's schema. A key already written keeps its first row. */
export async function writeOutbox(tx: OutboxSql, jobs: OutboxJob[]): Promise<void> {
  if (!jobs.length) return;
  const values: unknown[] = [];
  await tx.$executeRawUnsafe(outboxInsert(jobs, sqlParams(1, values)), ...values);
}

/**
 * writeOutbox's insert as SQL to embed in a larger statement (e.g. a data-modifying CTE of a
 * workflow step's one statement, `StepContext.statement`): `param` adds a value and gives its `$n`;
 * `after`, when given, is a relation with at most one row the rows are joined to (written only when
 * it has its row).
 */
export function outboxInsert(jobs: OutboxJob[], param: (value: unknown) => string, after?: string): string {
  for (const j of jobs) assertOutboxKey(j.key);
  const rows = `unnest(${param(jobs.map((j) => j.key))}::text[], ${param(jobs.map((j) => j.queue))}::text[], ${param(
    jobs.map((j) => j.name),
  )}::text[], ${param(jobs.map((j) => JSON.stringify(j.data ?? null)))}::jsonb[])`;
  return `INSERT INTO "Outbox" ("id", "queue", "name", "data")
     SELECT j.* FROM ${after ? `${after}, ` : ""}${rows} AS j
     ON CONFLICT ("id") DO NOTHING`;
}

/** A `param` for outboxInsert and the like: pushes each value onto `values` and numbers it from `first`. */
export function sqlParams(first: number, values: unknown[]): (value: unknown) => string {
  return (value) => `$${first + values.push(value) - 1}`;
}

interface Row {
  id: string;
  queue: string;
  name: string;
  data: unknown;
}

export interface OutboxRelayOptions {
  db: OutboxDb;
  /** The producer of a queue named in a row (a row naming an unknown queue stays pending and is logged). */
  queue: (name: string) => Queue | undefined;
  log: Logger;
  /** Rows per transaction (default 100). */
  batch?: number;
  /**
   * Queues whose consumer takes `publish-events` jobs (`publishLiveEventsJob`): the live-event rows of
   * one relay run for such a queue go out as ONE job per topic instead of one job each (decision 0046).
   */
  mergeLiveEvents?: readonly QueueName[];
  /**
   * The periodic relay (`start`) leaves rows younger than this (ms, default 2000) to the process that
   * wrote them, whose `flush` right after the commit relays them in the request's trace: taken by the
   * workers' periodic run in between, the jobs would start a trace of their own. A row whose writer
   * died (or whose flush failed) is relayed by the periodic run once this old. `flush` and `drain`
   * take every pending row.
   */
  periodicMinAgeMs?: number;
}

const PERIODIC_MIN_AGE_MS = 2000;

export class OutboxRelay {
  private readonly batch: number;
  private readonly periodicMinAgeMs: number;
  private running: Promise<number> | undefined;
  private again: Promise<number> | undefined;

  constructor(private readonly o: OutboxRelayOptions) {
    this.batch = o.batch ?? 100;
    this.periodicMinAgeMs = o.periodicMinAgeMs ?? PERIODIC_MIN_AGE_MS;
  }

  /**
   * One batch: claims pending rows (only those written at least `minAgeMs` ago, when given), adds their
   * jobs (jobId = key), marks them sent. Returns how many.
   */
  async relayOnce(minAgeMs = 0): Promise<number> {
    let claimed: Row[] = [];
    // no age condition for the writer's own flush: a row committed after this transaction began is taken too
    const old = minAgeMs > 0 ? `AND "createdAt" <= now() - $2::double precision * interval '1 millisecond'` : "";
    try {
      return await this.o.db.$transaction(
        async (tx: OutboxSql) => {
          claimed = await tx.$queryRawUnsafe<Row[]>(
            `SELECT "id", "queue", "name", "data" FROM "Outbox" WHERE "sentAt" IS NULL ${old} ORDER BY "createdAt", "id" LIMIT $1 FOR UPDATE SKIP LOCKED`,
            this.batch,
            ...(old ? [minAgeMs] : []),
          );
          if (!claimed.length) return 0;
          const byQueue = new Map<string, Row[]>();
          for (const r of claimed) byQueue.set(r.queue, [...(byQueue.get(r.queue) ?? []), r]);
          const sent: string[] = [];
          for (const [name, rows] of byQueue) {
            const q = this.o.queue(name);
            if (!q) {
              this.o.log.error(
                { queue: name, keys: rows.map((r) => r.id) },
                "outbox rows name a queue this relay has no producer for; left pending",
              );
              continue;
            }
            await q.addBulk(this.o.mergeLiveEvents?.includes(name as QueueName) ? relayedJobs(rows) : rows.map(relayedJob));
            sent.push(...rows.map((r) => r.id));
          }
          // The relay is at least once already (a crash between addBulk and this commit relays the rows
          // again, jobId = key): a "sent" mark lost in a server crash is that same case, so this commit
          // does not wait for the WAL flush while it holds the domain's connection (decision 0040).
          if (sent.length)
            await tx.$executeRawUnsafe(
              `UPDATE "Outbox" SET "sentAt" = now(), "attempts" = "attempts" + 1, "lastError" = NULL
               FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed WHERE "id" = ANY($1::text[])`,
              sent,
            );
          return sent.length;
        },
        { maxWait: 10_000, timeout: 30_000 },
      );
    } catch (e) {
      // The transaction rolled back: the rows stay pending. Note the failure on them for operators.
      if (claimed.length)
        await this.o.db
          .$executeRawUnsafe(
            `UPDATE "Outbox" SET "attempts" = "attempts" + 1, "lastError" = $2 WHERE "id" = ANY($1::text[]) AND "sentAt" IS NULL`,
            claimed.map((r) => r.id),
            String((e as Error)?.message ?? e).slice(0, 500),
          )
          .catch(() => undefined);
      throw e;
    }
  }

  /** Relays until nothing is pending (at most `maxBatches` batches; rows at least `minAgeMs` old, when given). */
  async drain(maxBatches = 50, minAgeMs = 0): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await this.relayOnce(minAgeMs);
      total += n;
      if (n < this.batch) break;
    }
    return total;
  }

  /**
   * After a commit: relays what is pending now. Never throws (the periodic run retries). Calls
   * while a relay runs in this process share one more run after it (so a burst of commits costs
   * two drains, not one per commit, and every caller's rows are covered when it returns).
   */
  flush(): Promise<number> {
    // called right after a commit, often inside an operator mutation: relaying is not its change
    return unaudited(() => this.relayNow(0));
  }

  /** A flush (`minAgeMs` 0: every pending row) or a periodic run (rows at least `minAgeMs` old). */
  private relayNow(minAgeMs: number): Promise<number> {
    if (this.running) {
      // a periodic run leaves young rows: the relay in hand covers what it would take
      if (minAgeMs > 0) return this.running;
      this.again ??= this.running.then(() => {
        this.again = undefined;
        return this.relayNow(0);
      });
      return this.again;
    }
    const run = this.drain(50, minAgeMs)
      .catch((e) => {
        this.o.log.warn({ err: e }, "outbox relay failed; the periodic run retries");
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = run;
    return run;
  }

  /**
   * Starts the periodic relay of rows at least `periodicMinAgeMs` old (and pruning of rows sent
   * `keepDays` ago). Returns the stop function.
   */
  start(everyMs = 1000, keepDays = 7): () => Promise<void> {
    const prune = atMostEvery(3_600_000, () => this.prune(keepDays));
    return periodic(
      everyMs,
      async () => {
        await unaudited(() => this.relayNow(this.periodicMinAgeMs));
        await prune();
      },
      (e) => this.o.log.warn({ err: e }, "outbox prune failed"),
      0,
    );
  }

  /** Deletes rows sent more than `days` ago. Keys that must stay unique longer need a longer `days`. */
  async prune(days = 7): Promise<number> {
    return this.o.db.$executeRawUnsafe(`DELETE FROM "Outbox" WHERE "sentAt" < now() - make_interval(days => $1::int)`, days);
  }

  /** Rows not relayed yet. */
  async pending(): Promise<number> {
    const r = await this.o.db.$queryRawUnsafe<Array<{ n: bigint | number }>>(`SELECT count(*) AS n FROM "Outbox" WHERE "sentAt" IS NULL`);
    return Number(r[0]?.n ?? 0);
  }
}

/**
 * Producers for the queues a domain's outbox names, made on first use; `close` closes them.
 * `defaults`: a queue's job options (attempts, backoff) for the jobs relayed to it.
 */
export function outboxQueues(
  ctx: QueueContext,
  names: readonly QueueName[],
  defaults: Partial<Record<QueueName, JobsOptions>> = {},
): { queue: (name: string) => Queue | undefined; close: () => Promise<void> } {
  const made = new Map<string, Queue>();
  return {
    queue(name) {
      if (!names.includes(name as QueueName)) return undefined;
      let q = made.get(name);
      if (!q) made.set(name, (q = createQueue(ctx, name as QueueName, defaults[name as QueueName])));
      return q;
    },
    close: async () => {
      await Promise.all([...made.values()].map((q) => q.close()));
    },
  };
}

/** The member's inbox message a domain writes into its outbox (member's job `deliver`). */
export function memberMessage(
  key: string,
  memberId: string,
  kind: MemberMessageKind,
  params: Record<string, unknown>,
): OutboxJob<{ memberId: string; kind: MemberMessageKind; params: Record<string, unknown> }> {
  return { key: `msg.${key}`, queue: QueueName.memberMessages, name: "deliver", data: { memberId, kind, params } };
}

/** Kinds of inbox message (member's MessageKind). */
export type MemberMessageKind =
  "ORDER_PAID" | "ORDER_SHIPPED" | "AFTER_SALE_DECIDED" | "COUPON_EXPIRING" | "PRIZE_DELIVERED" | "RED_ENVELOPE_RECEIVED";
