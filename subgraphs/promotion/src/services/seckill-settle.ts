/**
 * The settle script of seckill reservations (settleReservation-shard.lua), for one reservation or a
 * batch: one call per home shard, then a live event for each reservation that changed.
 */
import { defined } from "@mallgraph/platform/errors";
import { publishLiveEvent } from "@mallgraph/platform/events";
import { RESERVATION_TOPIC, SETTLED_RETENTION_SECONDS, type SeckillStore } from "./seckill-store.ts";
import type { ReservationView } from "./types.ts";

export type SettleAction = "ORDERED" | "FAILED" | "CANCELLED" | "PAID";

/**
 * Moves reservations on with one script call per home shard (the stream consumer settles a batch of
 * orders made together this way, decision 0036); answers per reservation as `settle` does.
 */
export async function settleReservations(
  s: SeckillStore,
  rs: Array<{ r: Pick<ReservationView, "id" | "buyerId">; arg: string }>,
  action: SettleAction,
): Promise<number[]> {
  const at = await Promise.all(rs.map(({ r }) => s.locate(r.id)));
  const out = rs.map(() => -1);
  const byShard = new Map<string, number[]>();
  at.forEach((a, i) => {
    if (a) byShard.set(a.k.stream, [...(byShard.get(a.k.stream) ?? []), i]);
  });
  const now = Date.now();
  await Promise.all(
    [...byShard.values()].map(async (idx) => {
      const k = defined(at[defined(idx[0], "a shard's first reservation")], "a located reservation").k;
      const hashes = idx.map((i) => k.reservation(defined(at[i], "a located reservation").uuid));
      const changed = await s.lua.settle(
        6 + hashes.length,
        k.pending,
        k.ordered,
        k.open,
        k.stock,
        k.bought,
        k.stream,
        ...hashes,
        action,
        now,
        SETTLED_RETENTION_SECONDS,
        ...idx.map((i) => defined(rs[i], "a reservation settled").arg),
      );
      idx.forEach((i, n) => (out[i] = Number(changed[n] ?? -1)));
    }),
  );
  if (action !== "PAID")
    await Promise.all(
      rs.map(({ r }, i) =>
        out[i] !== 1
          ? undefined
          : // live event → the buyer's `seckillReservationChanged` subscription (best-effort; the state is in Redis)
            publishLiveEvent(s.d.redis, s.d.prefix, RESERVATION_TOPIC, {
              eventId: `${r.id}.${action}`,
              keys: { reservationId: r.id },
              audience: [r.buyerId],
            }).catch((e) => s.d.log.warn({ err: e, reservationId: r.id }, "could not publish the reservation event")),
      ),
    );
  return out;
}
