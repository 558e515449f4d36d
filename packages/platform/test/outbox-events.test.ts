/**
 * `publishLiveEventsJob` (decision 0039) when Redis refuses a marker: the job must fail so BullMQ
 * retries it, as `publishLiveEventJob` does — not complete with the events never published. The
 * refusal is a real one: a connection whose ACL user may not SET (as a replica's READONLY or an
 * out-of-memory error refuses it), on the tests' Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishLiveEventsJob, type LiveEventsJobData } from "@mallgraph/platform/outbox";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { createTestRedis, randomId } from "@mallgraph/platform/testing";

const t = createTestRedis();
const redis = createRedis(t.url);
const user = `mg-test-noset-${randomId(4)}`;
let noSet: Redis;

beforeAll(async () => {
  // may do anything but SET; its own throwaway user, removed afterwards
  await redis.call("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-set");
  const u = new URL(t.url);
  u.username = user;
  u.password = "pw";
  noSet = createRedis(u.toString());
});

afterAll(async () => {
  noSet?.disconnect();
  await redis.call("ACL", "DELUSER", user);
  await t.cleanup();
  redis.disconnect();
});

const events = (n: number): LiveEventsJobData => ({
  topic: "orderStatusChanged",
  events: Array.from({ length: n }, () => ({ eventId: randomId(8), keys: { orderId: randomId(8) }, audience: ["m1"] })),
});

describe("publishLiveEventsJob", () => {
  it("publishes each event once per event id", async () => {
    const data = events(3);
    expect(await publishLiveEventsJob(redis, t.prefix, data)).toBe(3);
    expect(await publishLiveEventsJob(redis, t.prefix, data)).toBe(0);
  });

  it("fails (the job retries) when Redis refuses the markers, and the retry publishes them all", async () => {
    const data = events(2);
    await expect(publishLiveEventsJob(noSet, t.prefix, data)).rejects.toThrow(/NOPERM|permission/i);
    expect(await publishLiveEventsJob(redis, t.prefix, data)).toBe(2);
  });
});
