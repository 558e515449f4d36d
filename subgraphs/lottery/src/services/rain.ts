/**
 * Red-envelope rain: an operator's campaign splits a total into random shares (split.ts) kept in
 * Redis lists spread over N shards; members grab with one Lua script (grabEnvelope-rain.lua), which
 * also hands the grab over through the rain's stream; the stream's consumer records each grab in
 * PostgreSQL and credits the member's wallet (decision 0032); a delayed job at endsAt closes the rain
 * and records what is left so that grabbed + refund = total exactly. After Redis lost data, a rain is
 * rebuilt from PostgreSQL (rain-reconcile.ts).
 *
 * The money comes from member's MARKETING account (decision 0019): creating a rain freezes its total
 * there (reference `rain:<rainId>`; refused with INSUFFICIENT_BALANCE when the budget is short), each
 * grab is a transfer from that freeze to the member (`rain:<rainId>:<memberId>`, once), and closing
 * releases the rest (`refundAmount`) back to MARKETING, once.
 *
 * Keys (one hash tag per rain, `{rain:<id>}` — decision 0033 — so one Redis Cluster slot and one Lua
 * call may touch all of a rain's keys, and different rains spread over the cluster's nodes):
 *   <prefix>:lottery:{rain:<id>}            meta hash
 *   <prefix>:lottery:{rain:<id>}:grabs      memberId -> "<minor>:<atMs>:<seq>"
 *   <prefix>:lottery:{rain:<id>}:shard:<i>  share lists
 *   <prefix>:lottery:{rain:<id>}:stream     one entry per grab, until recorded and credited
 *   <prefix>:lottery:{rain:<id>}:reconcile  the lock of its rebuild
 *   <prefix>:lottery:{rain:<id>}:event:<e>  live event payloads (5 minutes)
 * Trade-off: one slot means one cluster node serves a rain; the shards spread list contention and
 * keep each LPOP O(1), not load across nodes. Measured (bench/rain-grab-redis.ts): ~30,000 grabs/s
 * per node, far above what the app tier feeds one rain; per-shard tags would need seckill's borrow
 * protocol (decision 0033, Consequences, says when and how).
 *
 * RainService only composes the use cases, each in its own file:
 *   rain-create.ts   validation and split; then the durable createRain workflow (src/workflows/createRain.ts):
 *                    budget freeze, shares armed, close scheduled, the rain stored and opened
 *   rain-grab.ts     the grab (Lua), recording and crediting grabs, the credit job, the sweep
 *   rain-stream.ts   the consumer of the rains' streams: grabs recorded in PostgreSQL, then credited
 *   rain-reconcile.ts  the rebuild of a rain from PostgreSQL after Redis lost data
 *   rain-close.ts    closing: grabs recorded and credited, the rest released
 *   rain-reads.ts    the view with status and live counts
 *   rain-events.ts   coalesced live events
 * with what they share (types, limits, minor units, keys) in rain-shared.ts.
 */
import { streamBacklog, type StreamEntry } from "@mallgraph/platform/streams";
import type { RedEnvelopeRain } from "../generated/prisma/client.ts";
import { createRainWorkflow } from "../workflows/createRain.ts";
import { RainClosing } from "./rain-close.ts";
import { RainCreation } from "./rain-create.ts";
import { RainEvents } from "./rain-events.ts";
import { RainGrabs } from "./rain-grab.ts";
import { RainReads } from "./rain-reads.ts";
import { RainReconciliation } from "./rain-reconcile.ts";
import { RainKeys, type CreditGrabJob, type RainInput, type RainServiceDeps } from "./rain-shared.ts";
import { RainStream } from "./rain-stream.ts";

export {
  MAX_SHARDS,
  MAX_SHARES,
  fromMinor,
  type CreditGrabJob,
  type GrabResult,
  type RainEventPayload,
  type RainInput,
  type RainServiceDeps,
  type RainStatus,
  type RainView,
} from "./rain-shared.ts";
export type { RainReconcileReport } from "./rain-reconcile.ts";

export class RainService {
  /** The clock of every use case (tests move it). */
  now: () => number;
  private readonly reads: RainReads;
  private readonly events: RainEvents;
  private readonly creation: RainCreation;
  private readonly grabs: RainGrabs;
  private readonly closing: RainClosing;
  private readonly stream: RainStream;
  private readonly reconciliation: RainReconciliation;

  /** The dependencies every use case shares (one object: a test swaps the queue in it). */
  constructor(private readonly d: RainServiceDeps) {
    this.now = d.now ?? Date.now;
    const c = { d: this.d, keys: new RainKeys(d.redisPrefix), now: () => this.now() };
    this.reads = new RainReads(c);
    this.events = new RainEvents(c);
    this.creation = new RainCreation(c, this.reads, d.workflows.register(createRainWorkflow(c)));
    this.grabs = new RainGrabs(c, this.events);
    this.closing = new RainClosing(c, this.reads, this.events);
    this.stream = new RainStream(c, this.grabs);
    this.reconciliation = new RainReconciliation(c, this.grabs, d.reconcileGraceMs);
  }

  // creation
  create(input: RainInput, operatorId: string) {
    return this.creation.create(input, operatorId);
  }

  // reads
  get(id: string) {
    return this.reads.get(id);
  }
  view(rain: RedEnvelopeRain) {
    return this.reads.view(rain);
  }

  // grabs and their credit
  grab(rainId: string, memberId: string) {
    return this.grabs.grab(rainId, memberId);
  }
  creditGrab(job: CreditGrabJob) {
    return this.grabs.creditGrab(job);
  }
  sweep() {
    return this.grabs.sweep();
  }

  // the streams' consumer (the workers run it: StreamConsumer with these two)
  streams() {
    return this.stream.streams();
  }
  handleStream(stream: string, entries: StreamEntry[]) {
    return this.stream.handle(stream, entries);
  }
  /** Stream entries not done yet (grabs not recorded or not credited), over the open rains. */
  async streamBacklog(): Promise<number> {
    return streamBacklog(this.d.redis, await this.stream.streams(0));
  }

  // close and refund: a rain that lost Redis data is rebuilt first
  async close(rainId: string) {
    await this.reconciliation.beforeClose(rainId);
    return this.closing.close(rainId);
  }

  // reconciliation after Redis lost data (rain-reconcile.ts)
  /** Operators: every open rain (or one) rebuilt from PostgreSQL. */
  reconcile(rainId?: string | null) {
    return this.reconciliation.run(rainId);
  }
  /** The workers' check: damaged rains rebuilt; null when none is. */
  reconcileIfLost() {
    return this.reconciliation.ifLost();
  }

  // live events
  publish(rainId: string) {
    return this.events.publish(rainId);
  }
  event(rainId: string, eventId: string) {
    return this.events.event(rainId, eventId);
  }
  /** Publishes what is pending at once (shutdown). */
  flush() {
    return this.events.flush();
  }
}
