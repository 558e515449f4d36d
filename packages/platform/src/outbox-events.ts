/**
 * Live events (events.ts) that leave their change's transaction through the outbox (outbox.ts): the
 * outbox jobs that carry them, their consumers (each event published once per event id), and the
 * relay's merge of one run's live-event rows into one job per topic.
 */
import { createHash } from "node:crypto";
import { badInput } from "./errors.ts";
import { eventChannel, publishLiveEvent, type LiveEvent } from "./events.ts";
import type { OutboxJob } from "./outbox.ts";
import type { QueueName } from "./queue.ts";
import { keyFor, type Redis } from "./redis.ts";

/** An outbox row as the relay reads it. */
export interface RelayedRow {
  id: string;
  name: string;
  data: unknown;
}

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

/** A relayed outbox row as a BullMQ job: its key is the job id (a row relayed twice is one job). */
export const relayedJob = (r: RelayedRow) => ({ name: r.name, data: r.data, opts: { jobId: r.id } });

/**
 * One queue's rows of a relay run as jobs, the live events among them (`publish-event` and
 * `publish-events` rows) merged into one `publish-events` job per topic: one job for the consumer to
 * fetch, run and complete where there were several (a BullMQ job costs its worker and Redis more than
 * publishing an event). The merged job's id is a digest of its rows' keys, so a relay that repeats
 * itself with the same rows adds nothing, and one that repeats with other rows adds a job whose events
 * published already are skipped by their markers (`publishLiveEventsJob`) — at least once, as before.
 */
export function relayedJobs(rows: RelayedRow[]) {
  const out: Array<ReturnType<typeof relayedJob>> = [];
  const byTopic = new Map<string, RelayedRow[]>();
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
