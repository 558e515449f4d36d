/**
 * Redis streams as the hand-off from a hot Lua script to the work after it (decision 0032). The script
 * that changes the hot keys XADDs what it did to a stream in the same slot, in the same call — so the
 * hot path stays ONE round trip and nothing it did can be missing from the stream. A consumer group
 * reads the streams: it copies the entries to PostgreSQL and does the follow-up work (seckill orders,
 * red-envelope credits), then acknowledges and deletes them.
 *
 * Crash safety: an entry stays in the group's pending list until its handler says it is done; one
 * delivered to a consumer that died (kill -9) or failed is claimed again by a live consumer once it
 * has been idle for `claimIdleMs` (XAUTOCLAIM). Handlers are therefore idempotent. A stream never
 * holds more than the entries not done yet (done ones are deleted), which is also what
 * `streamBacklog` counts.
 *
 * Streams are polled (no blocking read): the set of streams changes as sessions and rains come and go,
 * and a blocking read on many keys is one connection per call on a Redis Cluster.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "./log.ts";
import { bound, streamEntries } from "./metrics.ts";
import type { Redis } from "./redis.ts";

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface StreamConsumerOptions {
  redis: Redis;
  /** The consumer group (one per kind of work: every process running it shares the entries). */
  group: string;
  /** The streams to read now (asked again every round, so keep it cheap: cache what it reads). */
  streams: () => Promise<string[]> | string[];
  /**
   * Handles entries of one stream, oldest first: answers the ids that are done (acknowledged and
   * deleted). Entries not answered, or all of them when it throws, stay pending and come again after
   * `claimIdleMs`.
   */
  handle: (stream: string, entries: StreamEntry[]) => Promise<Iterable<string>>;
  log: Logger;
  /** This consumer's name in the group (default host-pid-random: a restarted process is a new consumer). */
  consumer?: string;
  /** Entries read per stream and round (default 200). */
  count?: number;
  /** Pause between rounds that found nothing to do (ms, default 100). */
  intervalMs?: number;
  /** An entry delivered this long ago and not done is claimed again (ms, default 10 000). */
  claimIdleMs?: number;
  /** How often a round also claims idle entries (ms, default 1 000). */
  claimEveryMs?: number;
}

/** Turns XREADGROUP / XAUTOCLAIM / XRANGE entries into objects (deleted entries come as null fields and are skipped). */
export function parseEntries(raw: unknown): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const e of (raw as Array<[string, string[] | null]> | null) ?? []) {
    const [id, flat] = e;
    if (!flat) continue;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    out.push({ id, fields });
  }
  return out;
}

/** Entries still in the streams: not yet done by their group (pending or not delivered yet). */
export async function streamBacklog(redis: Redis, streams: string[]): Promise<number> {
  const lengths = await Promise.all(streams.map((s) => redis.xlen(s)));
  return lengths.reduce((a, b) => a + b, 0);
}

const counted = bound(streamEntries);

export class StreamConsumer {
  readonly consumer: string;
  private readonly known = new Set<string>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastClaim = 0;
  private lastCleanup = Date.now();

  constructor(private readonly o: StreamConsumerOptions) {
    this.consumer = o.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  }

  /** Runs rounds until `stop`. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        let full = false;
        try {
          full = (await this.round()).full;
        } catch (e) {
          this.o.log.warn({ err: e, group: this.o.group }, "stream round failed; trying again");
        }
        if (!full && !this.stopping)
          await new Promise<void>((r) => {
            const t = setTimeout(r, this.o.intervalMs ?? 100);
            this.wake = () => {
              clearTimeout(t);
              r();
            };
          });
      }
    })();
  }

  /** Stops after the round in hand: entries being handled are finished and acknowledged first (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.o.log.info({ group: this.o.group, consumer: this.consumer }, "stream consumer stopped: the entries in hand were finished");
  }

  /**
   * One round over every stream: new entries, and (every `claimEveryMs`, or when `claim` says so)
   * entries other consumers left idle too long. `full`: some stream had more than one read's worth.
   */
  async round(claim?: boolean): Promise<{ handled: number; full: boolean }> {
    const now = Date.now();
    const claiming = claim ?? now - this.lastClaim >= (this.o.claimEveryMs ?? 1000);
    if (claiming) this.lastClaim = now;
    const streams = await this.o.streams();
    const counts = await Promise.all(streams.map((s) => this.one(s, claiming)));
    if (claiming && now - this.lastCleanup > 60_000) {
      this.lastCleanup = now;
      await Promise.all(streams.map((s) => this.forgetIdleConsumers(s))).catch(() => undefined);
    }
    const count = this.o.count ?? 200;
    return { handled: counts.reduce((a, b) => a + b, 0), full: counts.some((c) => c >= count) };
  }

  /** The group of a stream that exists (from its first entry on); false while the stream does not exist yet. */
  private async ensureGroup(stream: string): Promise<boolean> {
    if (this.known.has(stream)) return true;
    try {
      await this.o.redis.xgroup("CREATE", stream, this.o.group, "0");
    } catch (e) {
      const message = String((e as Error).message);
      if (message.includes("requires the key to exist")) return false; // nothing written yet: no key is created for it
      if (!message.includes("BUSYGROUP")) throw e;
    }
    this.known.add(stream);
    return true;
  }

  private async read(stream: string, claiming: boolean): Promise<StreamEntry[]> {
    const { redis, group } = this.o;
    const count = this.o.count ?? 200;
    const entries: StreamEntry[] = [];
    if (claiming) {
      const claimed = (await redis.xautoclaim(stream, group, this.consumer, this.o.claimIdleMs ?? 10_000, "0-0", "COUNT", count)) as [
        string,
        unknown,
      ];
      entries.push(...parseEntries(claimed[1]));
    }
    const fresh = (await redis.xreadgroup("GROUP", group, this.consumer, "COUNT", count, "STREAMS", stream, ">")) as Array<
      [string, unknown]
    > | null;
    for (const [, raw] of fresh ?? []) entries.push(...parseEntries(raw));
    return entries;
  }

  private async one(stream: string, claiming: boolean): Promise<number> {
    const { redis, group, log } = this.o;
    if (!(await this.ensureGroup(stream))) return 0;
    let entries: StreamEntry[];
    try {
      entries = await this.read(stream, claiming);
    } catch (e) {
      // the stream or its group is gone (Redis restarted empty, a stream deleted): create it again next round
      if (String((e as Error).message).includes("NOGROUP")) {
        this.known.delete(stream);
        return 0;
      }
      throw e;
    }
    if (!entries.length) return 0;
    let done: string[] = [];
    try {
      done = [...new Set(await this.o.handle(stream, entries))];
    } catch (e) {
      log.warn({ err: e, group, stream, entries: entries.length }, "stream entries failed; they stay pending and come again");
    }
    if (done.length) {
      await redis.xack(stream, group, ...done);
      await redis.xdel(stream, ...done);
    }
    counted(group, "done").inc(done.length);
    if (entries.length > done.length) counted(group, "retry").inc(entries.length - done.length);
    return entries.length;
  }

  /** Consumers of dead processes (nothing pending, idle for 10 minutes) leave the group. */
  private async forgetIdleConsumers(stream: string): Promise<void> {
    const rows = (await this.o.redis.xinfo("CONSUMERS", stream, this.o.group)) as Array<Array<string | number>>;
    for (const row of rows) {
      const info: Record<string, string | number> = {};
      for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1] as string | number;
      if (info.name !== this.consumer && Number(info.pending) === 0 && Number(info.idle) > 600_000)
        await this.o.redis.xgroup("DELCONSUMER", stream, this.o.group, String(info.name));
    }
  }
}
