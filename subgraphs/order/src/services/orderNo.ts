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
  const key = keyFor(prefix, "order");
  const nextSeq = defineLua<[string, number], number>(redis, "orderNextSeq", new URL("../lua/nextSeq-orderSeq.lua", import.meta.url), 1);
  return async (now = new Date()) => {
    const ts = timestamp14(now);
    const seq = await nextSeq(key("seq", ts), SEQ_TTL_SECONDS);
    return `${ts}${String(seq).padStart(6, "0")}`;
  };
}
