/**
 * The consumer of the rains' streams (decision 0032): each rain's stream holds one entry per grab,
 * written by the grab script in the same call. For each batch read: the grabs are recorded in
 * PostgreSQL (one statement: the copy, within a second or two of the grab), then each wallet is
 * credited once (member's reference `rain:<rainId>:<memberId>`), then the entries are acknowledged.
 * A worker killed anywhere leaves its entries pending for another consumer; a credit that fails is
 * tried again when its entry comes back (and by the sweep's credit jobs).
 */
import type { StreamEntry } from "@mallgraph/platform/streams";
import type { RainGrabs } from "./rain-grab.ts";
import type { CreditGrabJob, RainContext } from "./rain-shared.ts";

/** Rains stay read this long after they closed (their last grabs' credits). */
const TAIL_MS = 10 * 60_000;
/** Wallet calls at once per batch. */
const CREDITS_AT_ONCE = 16;

export class RainStream {
  private cached: { at: number; streams: string[] } | undefined;

  constructor(
    private readonly c: RainContext,
    private readonly grabs: RainGrabs,
  ) {}

  /** The streams of rains not closed, or closed lately. */
  async streams(maxAgeMs = 1000): Promise<string[]> {
    if (this.cached && Date.now() - this.cached.at < maxAgeMs) return this.cached.streams;
    const rows = await this.c.d.prisma.redEnvelopeRain.findMany({
      where: { OR: [{ closedAt: null }, { closedAt: { gt: new Date(Date.now() - TAIL_MS) } }] },
      select: { id: true },
    });
    const streams = rows.map((r) => this.c.keys.stream(r.id));
    this.cached = { at: Date.now(), streams };
    return streams;
  }

  async handle(stream: string, entries: StreamEntry[]): Promise<string[]> {
    const done: string[] = [];
    const grabs: Array<{ id: string; g: CreditGrabJob & { seq: number | null } }> = [];
    for (const e of entries) {
      const f = e.fields;
      const g = {
        rainId: f.rainId ?? "",
        memberId: f.memberId ?? "",
        amountMinor: Number(f.minor),
        currency: f.currency ?? "",
        atMs: Number(f.at),
        seq: f.seq ? Number(f.seq) : null,
      };
      if (!g.rainId || !g.memberId || !g.currency || !Number.isInteger(g.amountMinor) || !Number.isFinite(g.atMs)) {
        this.c.d.log.error({ stream, entry: e.id, fields: f }, "a red-envelope stream entry is not a grab; dropped");
        done.push(e.id);
      } else grabs.push({ id: e.id, g });
    }
    const rows = await this.grabs.record(grabs.map((x) => x.g));
    for (let i = 0; i < rows.length; i += CREDITS_AT_ONCE)
      await Promise.all(
        rows.slice(i, i + CREDITS_AT_ONCE).map(async (row, j) => {
          const entry = grabs[i + j];
          if (!entry) return;
          try {
            await this.grabs.credit(row);
            done.push(entry.id);
          } catch (err) {
            this.c.d.log.warn(
              { err, rainId: row.rainId, memberId: row.memberId },
              "red-envelope credit not made yet; the entry comes again",
            );
          }
        }),
      );
    return done;
  }
}
