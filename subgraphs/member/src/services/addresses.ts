/**
 * Shipping addresses. Exactly one default whenever a member has any: the first one becomes default,
 * a new default unsets the old one in the same transaction, deleting the default promotes the newest
 * other address. Every write locks the member row, so concurrent writes of one member serialize;
 * a partial unique index (one default per member) backs the rule in the database. With a mirror
 * (address-mirror.ts, decision 0054) every write invalidates the member's mirrored addresses before
 * and after its commit, and `snapshot` fills the entry order missed.
 */
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { badInput, notFound } from "../errors.ts";
import type { PrismaClient, Address } from "../generated/prisma/client.ts";
import type { AddressMirror } from "./address-mirror.ts";
import { text } from "./rules.ts";

export const MAX_ADDRESSES = 20;
const ADDRESS_PHONE_RE = /^\+?[0-9][0-9 -]{4,19}$/;

export interface AddressFields {
  receiver?: string | null;
  phone?: string | null;
  region?: string | null;
  detail?: string | null;
}

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
const TX = { maxWait: 10_000, timeout: 20_000 };

function phoneOf(v: unknown): string {
  const p = typeof v === "string" ? v.trim() : "";
  if (!ADDRESS_PHONE_RE.test(p)) throw badInput("phone must be a phone number", { field: "phone" });
  return p;
}

function fields(input: AddressFields, partial: boolean) {
  const out: { receiver?: string; phone?: string; region?: string; detail?: string } = {};
  if (!partial || input.receiver != null) out.receiver = text(input.receiver, "receiver", 50);
  if (!partial || input.phone != null) out.phone = phoneOf(input.phone);
  if (!partial || input.region != null) out.region = text(input.region, "region", 100);
  if (!partial || input.detail != null) out.detail = text(input.detail, "detail", 200);
  return out;
}

async function lockMember(tx: Tx, memberId: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Member" WHERE id = ${memberId} FOR UPDATE`;
  if (!rows.length) throw notFound("member", memberId);
}

async function owned(tx: Tx, memberId: string, id: string): Promise<Address> {
  const a = await tx.address.findFirst({ where: { id, memberId } });
  if (!a) throw notFound("address", id);
  return a;
}

/**
 * `sql`: plain SQL on the Prisma client's pool (decision 0035) for the one read on the order
 * placement's path — Prisma 6.19 compiles every call, and that findFirst was 42 % of member's CPU
 * per direct order (bench/RESULTS.md). Without it (a caller that builds the service alone) the
 * Prisma client's raw API runs the same statement.
 */
export function createAddressService(prisma: PrismaClient, sql: PgSql = prisma, mirror?: AddressMirror) {
  /** One write of a member's addresses: the member row locked, the mirror bumped before and after the commit. */
  async function write<T>(memberId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const r = await prisma.$transaction(async (tx) => {
      await lockMember(tx, memberId);
      await mirror?.bump(memberId);
      return fn(tx);
    }, TX);
    await mirror?.bumpAfterCommit(memberId);
    return r;
  }

  return {
    list(memberId: string): Promise<Address[]> {
      return prisma.address.findMany({ where: { memberId }, orderBy: [{ isDefault: "desc" }, { createdAt: "desc" }] });
    },

    byIds(memberIds: readonly string[]): Promise<Address[]> {
      return prisma.address.findMany({
        where: { memberId: { in: [...memberIds] } },
        orderBy: [{ isDefault: "desc" }, { createdAt: "desc" }],
      });
    },

    /** The member's address, or null (internal memberAddress field). */
    async snapshot(memberId: string, addressId: string): Promise<Address | null> {
      if (typeof addressId !== "string" || !/^[0-9a-f-]{36}$/i.test(addressId)) return null;
      // the mirror's version before the row: a write between the two stops the fill
      const version = mirror ? await mirror.version(memberId) : null;
      const readAt = performance.now();
      const rows = await sql.$queryRawUnsafe<Address[]>(
        `SELECT "id", "memberId", "receiver", "phone", "region", "detail", "isDefault", "createdAt", "updatedAt"
         FROM "Address" WHERE "id" = $1 AND "memberId" = $2`,
        addressId,
        memberId,
      );
      const row = rows[0] ?? null;
      if (row && mirror) await mirror.fill(memberId, version, readAt, row);
      return row;
    },

    /** The member's default address, or null (internal memberDefaultAddress field). */
    defaultSnapshot(memberId: string): Promise<Address | null> {
      return prisma.address.findFirst({ where: { memberId, isDefault: true } });
    },

    async add(memberId: string, input: AddressFields & { isDefault?: boolean | null }): Promise<Address> {
      const data = fields(input, false) as Required<ReturnType<typeof fields>>;
      return write(memberId, async (tx) => {
        const count = await tx.address.count({ where: { memberId } });
        if (count >= MAX_ADDRESSES) throw badInput(`at most ${MAX_ADDRESSES} addresses`);
        const isDefault = count === 0 || input.isDefault === true;
        if (isDefault) await tx.address.updateMany({ where: { memberId, isDefault: true }, data: { isDefault: false } });
        return tx.address.create({ data: { ...data, memberId, isDefault } });
      });
    },

    async update(memberId: string, id: string, input: AddressFields): Promise<Address> {
      const data = fields(input, true);
      return write(memberId, async (tx) => {
        await owned(tx, memberId, id);
        return tx.address.update({ where: { id }, data });
      });
    },

    async remove(memberId: string, id: string): Promise<boolean> {
      return write(memberId, async (tx) => {
        const a = await owned(tx, memberId, id);
        await tx.address.delete({ where: { id } });
        if (a.isDefault) {
          const next = await tx.address.findFirst({ where: { memberId }, orderBy: { createdAt: "desc" } });
          if (next) await tx.address.update({ where: { id: next.id }, data: { isDefault: true } });
        }
        return true;
      });
    },

    async setDefault(memberId: string, id: string): Promise<Address> {
      return write(memberId, async (tx) => {
        const a = await owned(tx, memberId, id);
        if (a.isDefault) return a;
        await tx.address.updateMany({ where: { memberId, isDefault: true }, data: { isDefault: false } });
        return tx.address.update({ where: { id }, data: { isDefault: true } });
      });
    },
  };
}
export type AddressService = ReturnType<typeof createAddressService>;
