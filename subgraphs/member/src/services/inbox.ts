/**
 * The member's inbox (myMessages): messages about what happened to them, delivered by the message
 * worker from the producers' outboxes (jobs/deliverMessage.ts). Its own table — SMS codes and the
 * operators' message center never appear here.
 */
import { defined } from "@mallgraph/platform/errors";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Redis } from "@mallgraph/platform/redis";
import type { Queue } from "bullmq";
import { badInput } from "../errors.ts";
import type { PrismaClient, InboxMessage } from "../generated/prisma/client.ts";
import type { SendMessageJob } from "./job-contracts.ts";
import { INBOX_KINDS, renderInbox, type InboxKind } from "./templates.ts";

export const MESSAGE_RECEIVED_TOPIC = "messageReceived";
const MAX_IDS = 500;

export interface InboxPage {
  unreadCount: number;
  items: InboxMessage[];
  hasNextPage: boolean;
  endCursor: string | null;
}

function cursorOf(m: InboxMessage): string {
  return Buffer.from(`${m.createdAt.toISOString()}|${m.id}`).toString("base64url");
}

function parseCursor(after: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(after, "base64url").toString().split("|");
  const createdAt = new Date(at ?? "");
  if (!id || Number.isNaN(createdAt.getTime())) throw badInput("after is not a cursor of myMessages", { field: "after" });
  return { createdAt, id };
}

export interface InboxDeps {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  /** SMS copies of the kinds that say so go through the message center's `send` job. */
  messages: Queue<SendMessageJob>;
}

export function createInboxService(d: InboxDeps) {
  const unread = (memberId: string) => d.prisma.inboxMessage.count({ where: { memberId, readAt: null } });

  return {
    unread,

    /** Newest first. */
    async list(memberId: string, first = 20, after?: string | null): Promise<InboxPage> {
      const take = Math.min(Math.max(first ?? 20, 1), 100);
      const c = after ? parseCursor(after) : null;
      const rows = await d.prisma.inboxMessage.findMany({
        where: { memberId, ...(c ? { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] } : {}) },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: take + 1,
      });
      const items = rows.slice(0, take);
      return {
        unreadCount: await unread(memberId),
        items,
        hasNextPage: rows.length > take,
        endCursor: items.length ? cursorOf(defined(items.at(-1), "the last message")) : null,
      };
    },

    /** Marks the member's messages read (an empty list: all of them); others' ids are ignored. */
    async markRead(memberId: string, ids: readonly string[]): Promise<{ unreadCount: number }> {
      if (!Array.isArray(ids) || ids.length > MAX_IDS || ids.some((id) => typeof id !== "string" || !id || id.length > 100))
        throw badInput(`ids must be at most ${MAX_IDS} message ids (an empty list marks all)`, { field: "ids" });
      await d.prisma.inboxMessage.updateMany({
        where: { memberId, readAt: null, ...(ids.length ? { id: { in: [...ids] } } : {}) },
        data: { readAt: new Date() },
      });
      return { unreadCount: await unread(memberId) };
    },

    /** The payload of a messageReceived event, only for the member it is addressed to. */
    async forEvent(memberId: string, eventId: string): Promise<InboxMessage | null> {
      if (typeof eventId !== "string" || eventId.length > 100) return null;
      return d.prisma.inboxMessage.findFirst({ where: { id: eventId, memberId } });
    },

    /**
     * Delivers one message under its idempotency key: stores it once, sends the SMS copy once (jobId
     * and the message center's jobKey), and publishes messageReceived once (claimed first, released when the publish fails).
     */
    async deliver(
      key: string,
      memberId: string,
      kind: InboxKind,
      params: Record<string, unknown>,
    ): Promise<{ message: InboxMessage | null; duplicate: boolean }> {
      const member = await d.prisma.member.findUnique({ where: { id: memberId }, select: { phone: true, closedAt: true } });
      // a closed account receives nothing (its personal data is gone)
      if (!member || member.closedAt) return { message: null, duplicate: false };
      const { title, body } = renderInbox(kind, params);
      // Insert-if-absent without a race error: parallel deliveries of one key all end on the same row.
      const created = await d.prisma.inboxMessage.createMany({ data: [{ key, memberId, kind, title, body }], skipDuplicates: true });
      const row = await d.prisma.inboxMessage.findUniqueOrThrow({ where: { key } });
      if (INBOX_KINDS[kind].sms)
        await d.messages.add(
          "send",
          { channel: "SMS", recipient: member.phone, template: INBOX_KINDS[kind].template, params },
          { jobId: `sms-${key}` },
        );
      // The live event once: claimed before publishing, un-claimed when the publish fails (the job retries).
      if (
        (await d.prisma.inboxMessage.updateMany({ where: { id: row.id, notifiedAt: null }, data: { notifiedAt: new Date() } })).count === 1
      ) {
        try {
          await publishLiveEvent(d.redis, d.prefix, MESSAGE_RECEIVED_TOPIC, { eventId: row.id, keys: {}, audience: [memberId] });
        } catch (e) {
          await d.prisma.inboxMessage.update({ where: { id: row.id }, data: { notifiedAt: null } });
          throw e;
        }
      }
      return { message: row, duplicate: created.count === 0 };
    },
  };
}
export type InboxService = ReturnType<typeof createInboxService>;
