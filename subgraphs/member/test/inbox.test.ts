/**
 * The member's inbox: delivery from the member-messages queue (as the producers' outbox relays send
 * it), exactly once per key, SMS copies where the kind says so, myMessages / markMessagesRead, and
 * the messageReceived live event with its gateway-only payload query.
 */
import { eventChannel, type LiveEvent } from "@mallgraph/platform/events";
import { logger } from "@mallgraph/platform/log";
import { memberMessage } from "@mallgraph/platform/outbox";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverMessageProcessor } from "../src/jobs/deliverMessage.ts";
import { createHarness, registerMember, waitFor, type Harness } from "./helpers.ts";

const MY = `query($first: Int, $after: String) { myMessages(first: $first, after: $after) { unreadCount hasNextPage endCursor items { id kind title body read createdAt } } }`;
const MARK = `mutation($ids: [ID!]!) { markMessagesRead(ids: $ids) { unreadCount } }`;
const EVENT = `query($id: ID!) { messageReceivedEvent(eventId: $id) { id kind title } }`;

describe("member inbox", () => {
  let h: Harness;
  let queue: ReturnType<typeof createQueue>;
  const send = (key: string, memberId: string, kind: Parameters<typeof memberMessage>[2], params: Record<string, unknown>) => {
    const j = memberMessage(key, memberId, kind, params);
    return queue.add(j.name, j.data, { jobId: j.key });
  };
  beforeAll(async () => {
    h = await createHarness({ workers: true });
    queue = createQueue({ redisUrl: h.config.REDIS_URL, redisPrefix: h.config.REDIS_PREFIX }, QueueName.memberMessages);
  }, 60_000);
  afterAll(async () => {
    await queue?.close();
    await h?.close();
  });

  it("a delivered message is in myMessages and pushed once on messageReceived, only to its member", async () => {
    const m = await registerMember(h);
    const other = await registerMember(h);
    const sub = createRedis(h.config.REDIS_URL);
    const events: LiveEvent[] = [];
    await sub.subscribe(eventChannel(h.config.REDIS_PREFIX, "messageReceived"));
    sub.on("message", (_c, msg) => events.push(JSON.parse(msg)));
    try {
      await send(`order-paid.o-${m.memberId}`, m.memberId, "ORDER_PAID", { orderNo: "MG0001", amount: "12.50", currency: "CNY" });
      await waitFor(() => events.length >= 1, "the messageReceived event");
      const page = (await h.ok(MY, {}, m.identity)).myMessages;
      expect(page.unreadCount).toBe(1);
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).toMatchObject({
        kind: "ORDER_PAID",
        title: "Order paid",
        body: "Order MG0001 is paid (12.50 CNY). Thank you!",
        read: false,
      });
      expect(events[0]).toEqual({ eventId: page.items[0].id, keys: {}, audience: [m.memberId] });
      // the payload query: for the gateway only, and only the member it is addressed to sees it
      const gw = { ...m.identity, service: "gateway" };
      expect((await h.ok(EVENT, { id: page.items[0].id }, gw)).messageReceivedEvent).toEqual({
        id: page.items[0].id,
        kind: "ORDER_PAID",
        title: "Order paid",
      });
      expect((await h.ok(EVENT, { id: page.items[0].id }, { ...other.identity, service: "gateway" })).messageReceivedEvent).toBeNull();
      expect((await h.gql(EVENT, { id: page.items[0].id }, m.identity)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect((await h.ok(MY, {}, other.identity)).myMessages).toMatchObject({ unreadCount: 0, items: [] });
      // the inbox never shows SMS codes (the registration's code is in the message center)
      expect(await h.sg.services.prisma.message.count({ where: { recipient: m.phone, template: "sms-code" } })).toBe(1);
    } finally {
      sub.disconnect();
    }
  });

  it("the same key delivered 20 times in parallel and re-run after completion: one row, one SMS, one event", async () => {
    const m = await registerMember(h);
    const process = deliverMessageProcessor({ inbox: h.sg.services.inbox, log: logger("test") });
    const sub = createRedis(h.config.REDIS_URL);
    const events: LiveEvent[] = [];
    await sub.subscribe(eventChannel(h.config.REDIS_PREFIX, "messageReceived"));
    sub.on("message", (_c, msg) => events.push(JSON.parse(msg)));
    const job = {
      id: `msg.order-shipped.o-${m.memberId}`,
      data: { memberId: m.memberId, kind: "ORDER_SHIPPED" as const, params: { orderNo: "MG0002", carrier: "SF", trackingNo: "SF123" } },
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => process(job)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect((await process(job)).duplicate).toBe(true);
    const rows = await h.sg.services.prisma.inboxMessage.findMany({ where: { memberId: m.memberId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: "ORDER_SHIPPED",
      title: "Order shipped",
      body: "Order MG0002 has shipped with SF, tracking number SF123.",
    });
    expect(rows[0]!.notifiedAt).not.toBeNull();
    // ORDER_SHIPPED also goes out by SMS, once
    const sms = await waitFor(async () => {
      const r = await h.sg.services.prisma.message.findMany({ where: { recipient: m.phone, template: "order-shipped" } });
      return r.length ? r : null;
    }, "the SMS copy");
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.sg.services.prisma.message.count({ where: { recipient: m.phone, template: "order-shipped" } })).toBe(1);
    expect(sms[0]).toMatchObject({ channel: "SMS", body: "【mallgraph】Order MG0002 has shipped with SF, tracking number SF123." });
    expect(events.filter((e) => e.audience?.[0] === m.memberId)).toEqual([{ eventId: rows[0]!.id, keys: {}, audience: [m.memberId] }]);
    sub.disconnect();
    // ORDER_PAID does not
    await process({ id: `msg.order-paid.x-${m.memberId}`, data: { memberId: m.memberId, kind: "ORDER_PAID", params: {} } });
    expect(await h.sg.services.prisma.message.count({ where: { recipient: m.phone, template: "order-paid" } })).toBe(0);
    // a malformed job is not retried
    await expect(process({ id: "msg.bad", data: { memberId: m.memberId, kind: "NOPE" as any } })).rejects.toThrow(/malformed/);
  });

  it("pages newest first; markMessagesRead marks the listed (own) ids, an empty list all", async () => {
    const m = await registerMember(h);
    const other = await registerMember(h);
    for (let i = 0; i < 5; i++)
      await send(`red-envelope.r${i}-${m.memberId}`, m.memberId, "RED_ENVELOPE_RECEIVED", { amount: `${i}.00`, currency: "CNY" });
    await send(`red-envelope.r-${other.memberId}`, other.memberId, "RED_ENVELOPE_RECEIVED", { amount: "1.00", currency: "CNY" });
    await waitFor(
      async () => (await h.sg.services.prisma.inboxMessage.count({ where: { memberId: { in: [m.memberId, other.memberId] } } })) === 6,
      "6 messages",
    );
    const p1 = (await h.ok(MY, { first: 3 }, m.identity)).myMessages;
    const p2 = (await h.ok(MY, { first: 3, after: p1.endCursor }, m.identity)).myMessages;
    expect(p1.hasNextPage).toBe(true);
    expect(p2.hasNextPage).toBe(false);
    const all = [...p1.items, ...p2.items];
    expect(all).toHaveLength(5);
    expect(new Set(all.map((x: any) => x.id)).size).toBe(5);
    expect(all.map((x: any) => x.createdAt)).toEqual([...all.map((x: any) => x.createdAt)].sort().reverse());
    expect(p1.unreadCount).toBe(5);
    const theirs = (await h.ok(MY, {}, other.identity)).myMessages.items[0].id;
    expect((await h.ok(MARK, { ids: [all[0].id, all[1].id, theirs] }, m.identity)).markMessagesRead).toEqual({ unreadCount: 3 });
    expect((await h.ok(MY, {}, other.identity)).myMessages.unreadCount).toBe(1);
    expect(
      (await h.ok(MY, { first: 5 }, m.identity)).myMessages.items
        .filter((x: any) => x.read)
        .map((x: any) => x.id)
        .sort(),
    ).toEqual([all[0].id, all[1].id].sort());
    expect((await h.ok(MARK, { ids: [] }, m.identity)).markMessagesRead).toEqual({ unreadCount: 0 });
    expect((await h.ok(MY, {}, other.identity)).myMessages.unreadCount).toBe(1);
    // anonymous callers and bad input
    expect((await h.gql(MY, {})).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await h.gql(MARK, { ids: Array.from({ length: 501 }, (_, i) => `x${i}`) }, m.identity)).errors?.[0]?.extensions?.code).toBe(
      "BAD_USER_INPUT",
    );
    expect((await h.gql(MY, { after: "nonsense" }, m.identity)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});
