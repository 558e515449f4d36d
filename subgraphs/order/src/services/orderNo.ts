/**
 * Order numbers: `yyyyMMddHHmmss` (UTC) + a 6-digit sequence of that second taken from one Redis
 * counter shared by every instance — unique across instances and roughly time-ordered. (Past
 * 999,999 orders in one second the sequence simply gets longer; still unique.) The database's
 * unique index on orderNo is the last line of defence.
 */
import { defineLua, keyFor } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";

const SEQ_TTL_SECONDS = 24 * 3600;

export function timestamp14(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export function orderNoGenerator(redis: Redis, prefix: string): (now?: Date) => Promise<string> {
  const many = orderNosGenerator(redis, prefix);
  return async (now = new Date()) => (await many(1, now))[0] ?? "";
}

/** `count` order numbers of one second in ONE Redis call (INCRBY count): a seckill batch's numbers. */
export function orderNosGenerator(redis: Redis, prefix: string): (count: number, now?: Date) => Promise<string[]> {
  const key = keyFor(prefix, "order");
  const nextSeq = defineLua<[string, number, number], number>(
    redis,
    "orderNextSeq",
    new URL("../lua/nextSeq-orderSeq.lua", import.meta.url),
    1,
  );
  return async (count, now = new Date()) => {
    if (count < 1) return [];
    const ts = timestamp14(now);
    const last = await nextSeq(key("seq", ts), SEQ_TTL_SECONDS, count);
    return Array.from({ length: count }, (_, i) => `${ts}${String(last - count + 1 + i).padStart(6, "0")}`);
  };
}
