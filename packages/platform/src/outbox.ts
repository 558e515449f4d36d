/**
 * The transactional outbox for BullMQ jobs, one table per owning schema (`"Outbox"`, see
 * OUTBOX_MODEL below): a service writes the jobs its change causes in the SAME transaction as the
 * change (`writeOutbox(tx, …)`), and a relay moves committed rows to their BullMQ queues.
 *
 * - Nothing is lost: a row stays pending until the relay has added its job to Redis; a crash at any
 *   point leaves it pending for the next relay run (after commit right away, or the periodic one).
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
import { createHash } from "node:crypto";
import type { JobsOptions, Queue } from "bullmq";
import { unaudited } from "./audit-scope.ts";
import { badInput } from "./errors.ts";
import { eventChannel, publishLiveEvent, type LiveEvent } from "./events.ts";
import type { Logger } from "./log.ts";
import { atMostEvery, periodic } from "./periodic.ts";
import { createQueue, QueueName, type QueueContext } from "./queue.ts";
import { keyFor, type Redis } from "./redis.ts";

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
}

export class OutboxRelay {
  private readonly batch: number;
  private running: Promise<number> | undefined;
  private again: Promise<number> | undefined;

  constructor(private readonly o: OutboxRelayOptions) {
    this.batch = o.batch ?? 100;
  }

  /** One batch: claims pending rows, adds their jobs (jobId = key), marks them sent. Returns how many. */
  async relayOnce(): Promise<number> {
    let claimed: Row[] = [];
    try {
      return await this.o.db.$transaction(
        async (tx: OutboxSql) => {
          claimed = await tx.$queryRawUnsafe<Row[]>(
            `SELECT "id", "queue", "name", "data" FROM "Outbox" WHERE "sentAt" IS NULL ORDER BY "createdAt", "id" LIMIT $1 FOR UPDATE SKIP LOCKED`,
            this.batch,
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

  /** Relays until nothing is pending (at most `maxBatches` batches). */
  async drain(maxBatches = 50): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await this.relayOnce();
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
    return unaudited(() => this.flushNow());
  }

  private flushNow(): Promise<number> {
    if (this.running) {
      this.again ??= this.running.then(() => {
        this.again = undefined;
        return this.flushNow();
      });
      return this.again;
    }
    const run = this.drain()
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

  /** Starts the periodic relay (and pruning of rows sent `keepDays` ago). Returns the stop function. */
  start(everyMs = 1000, keepDays = 7): () => Promise<void> {
    const prune = atMostEvery(3_600_000, () => this.prune(keepDays));
    return periodic(
      everyMs,
      async () => {
        await this.flush();
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

const relayedJob = (r: Row) => ({ name: r.name, data: r.data, opts: { jobId: r.id } });

/**
 * One queue's rows of a relay run as jobs, the live events among them (`publish-event` and
 * `publish-events` rows) merged into one `publish-events` job per topic: one job for the consumer to
 * fetch, run and complete where there were several (a BullMQ job costs its worker and Redis more than
 * publishing an event). The merged job's id is a digest of its rows' keys, so a relay that repeats
 * itself with the same rows adds nothing, and one that repeats with other rows adds a job whose events
 * published already are skipped by their markers (`publishLiveEventsJob`) — at least once, as before.
 */
function relayedJobs(rows: Row[]) {
  const out: Array<ReturnType<typeof relayedJob>> = [];
  const byTopic = new Map<string, Row[]>();
  for (const r of rows) {
    if (r.name !== PUBLISH_EVENT_JOB && r.name !== PUBLISH_EVENTS_JOB) out.push(relayedJob(r));
    else {
      const topic = (r.data as LiveEventJobData | LiveEventsJobData).topic;
      const group = byTopic.get(topic);
      if (group) group.push(r);
      else byTopic.set(topic, [r]);
    }
  }
  for (const [topic, group] of byTopic) {
    const [only] = group;
    if (only && group.length === 1) {
      out.push(relayedJob(only));
      continue;
    }
    const events = group.flatMap((r) =>
      r.name === PUBLISH_EVENT_JOB ? [(r.data as LiveEventJobData).event] : (r.data as LiveEventsJobData).events,
    );
    const digest = createHash("sha256")
      .update(group.map((r) => r.id).join(" "))
      .digest("base64url");
    const data: LiveEventsJobData = { topic, events };
    out.push({ name: PUBLISH_EVENTS_JOB, data, opts: { jobId: `relayed.${digest}` } });
  }
  return out;
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

/** The job name of a live event that left its transaction through the outbox. */
export const PUBLISH_EVENT_JOB = "publish-event";

export interface LiveEventJobData {
  /** The Subscription field (events.ts). */
  topic: string;
  event: LiveEvent;
}

/**
 * A live event (events.ts) written into the outbox in the change's transaction: the relay hands it
 * to `queue`, whose worker publishes it (`publishLiveEventJob`) — after the commit, and also when
 * the process died right after it. Key: `event.<eventId>`.
 */
export function liveEventJob(queue: QueueName, topic: string, event: LiveEvent): OutboxJob<LiveEventJobData> {
  return { key: `event.${event.eventId}`, queue, name: PUBLISH_EVENT_JOB, data: { topic, event } };
}

/** How long a published event's marker stays (a job re-added within it publishes nothing). */
const PUBLISHED_MARKER_SECONDS = 86_400;

/**
 * The consumer of a `publish-event` job: publishes the event once per event id — a marker in Redis
 * (one day) is set first, so a job delivered again (a retry, a relay that repeated itself after
 * BullMQ removed the completed job) publishes nothing; a failed publish removes the marker again.
 * True when this call published.
 */
export async function publishLiveEventJob(redis: Redis, prefix: string, data: LiveEventJobData): Promise<boolean> {
  const marker = keyFor(prefix, "events")("published", data.event.eventId);
  if ((await redis.set(marker, "1", "EX", PUBLISHED_MARKER_SECONDS, "NX")) !== "OK") return false;
  try {
    await publishLiveEvent(redis, prefix, data.topic, data.event);
    return true;
  } catch (e) {
    await redis.del(marker).catch(() => undefined);
    throw e;
  }
}

/** The job name of the live events of one batch that left their transaction as ONE outbox row. */
export const PUBLISH_EVENTS_JOB = "publish-events";

export interface LiveEventsJobData {
  topic: string;
  events: LiveEvent[];
}

/**
 * Many live events of one change (a batch of orders made together, decision 0039) as ONE outbox row,
 * relayed as one job: key `events.<first event's id>` (an event belongs to one change only). Each event
 * is still published once per event id (`publishLiveEventsJob`, the markers of `publishLiveEventJob`).
 */
export function liveEventsJob(queue: QueueName, topic: string, events: LiveEvent[]): OutboxJob<LiveEventsJobData> {
  const [first] = events;
  if (!first) throw badInput("a batch of live events needs at least one event", { field: "events" });
  return { key: `events.${first.eventId}`, queue, name: PUBLISH_EVENTS_JOB, data: { topic, events } };
}

/**
 * The consumer of a `publish-events` job: publishes each event not published before (the same one-day
 * marker per event id as `publishLiveEventJob`), the markers in one pipeline and the publishes in
 * another; a failed publish removes the markers it set, so the job's retry publishes what is left.
 * How many this call published.
 */
export async function publishLiveEventsJob(redis: Redis, prefix: string, data: LiveEventsJobData): Promise<number> {
  const marker = keyFor(prefix, "events");
  const set = redis.pipeline();
  for (const e of data.events) set.set(marker("published", e.eventId), "1", "EX", PUBLISHED_MARKER_SECONDS, "NX");
  const taken = await set.exec();
  const mine = data.events.filter((_, i) => taken?.[i]?.[1] === "OK");
  const unmark = (es: LiveEvent[]) => redis.del(...es.map((m) => marker("published", m.eventId))).catch(() => undefined);
  // a marker Redis refused (READONLY, OOM, …) is an event neither published nor marked: fail, so the job
  // retries them all (as publishLiveEventJob's SET throws), instead of completing without it
  const refused = taken?.find(([e]) => e)?.[0];
  if (refused) {
    if (mine.length) await unmark(mine);
    throw refused;
  }
  if (!mine.length) return 0;
  const channel = eventChannel(prefix, data.topic);
  const pub = redis.pipeline();
  for (const e of mine) pub.publish(channel, JSON.stringify(e));
  const sent = await pub.exec().catch(async (e: unknown) => {
    await unmark(mine); // unknown which got out: all again (an event published twice loads the same payload)
    throw e;
  });
  const failed = mine.filter((_, i) => !sent || sent[i]?.[0]);
  if (failed.length) {
    await unmark(failed);
    throw sent?.find(([e]) => e)?.[0] ?? new Error("publishing the events failed");
  }
  return mine.length;
}
