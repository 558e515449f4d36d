/**
 * Reading the operator audit trail (decision 0024). Entries arrive from member's own mutations
 * (written in their transactions) and from the other domains' outboxes (the `audit-entries` worker);
 * the table is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), and nothing here writes.
 */
import type { AuditEntry } from "@mallgraph/platform/audit";
import { badInput, defined } from "@mallgraph/platform/errors";
import type { PrismaClient } from "../generated/prisma/client.ts";

export interface AuditFilterInput {
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  operation?: string | null;
  from?: string | null;
  to?: string | null;
}

/** A stored entry as PostgreSQL answers it (`at` a Date). */
type Row = Omit<AuditEntry, "at"> & { at: Date };

const json = (v: unknown) => (v == null ? null : JSON.stringify(v));

function time(v: string, field: string): Date {
  const d = new Date(v);
  if (!v || Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
}

/** The cursor of an entry: its time and id (entries sort by both, newest first). */
const cursorOf = (r: Row) => Buffer.from(`${r.at.toISOString()}|${r.id}`).toString("base64url");

function parseCursor(after: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(after, "base64url").toString("utf8").split("|");
  const d = at ? new Date(at) : null;
  if (!d || Number.isNaN(d.getTime()) || !id?.startsWith("audit."))
    throw badInput("after is not a cursor of this list", { field: "after" });
  return { at: d, id };
}

export function createAuditService(prisma: PrismaClient) {
  return {
    async page(filter: AuditFilterInput | null | undefined, first: number, after?: string | null) {
      if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be 1 to 100", { field: "first" });
      const f = filter ?? {};
      const where: string[] = [];
      const values: unknown[] = [];
      const add = (sql: (n: string) => string, v: unknown) => {
        values.push(v);
        where.push(sql(`$${values.length}`));
      };
      if (f.actorId) add((n) => `"actorId" = ${n}`, f.actorId);
      if (f.targetType) add((n) => `"targetType" = ${n}`, f.targetType);
      if (f.targetId) add((n) => `("targetId" = ${n} OR "changes" @> jsonb_build_array(jsonb_build_object('id', ${n}::text)))`, f.targetId);
      if (f.operation) add((n) => `"operation" = ${n}`, f.operation);
      if (f.from) add((n) => `"at" >= ${n}::timestamp(3)`, time(f.from, "from").toISOString());
      if (f.to) add((n) => `"at" < ${n}::timestamp(3)`, time(f.to, "to").toISOString());
      if (after) {
        const c = parseCursor(after);
        values.push(c.at.toISOString(), c.id);
        where.push(`("at", "id") < ($${values.length - 1}::timestamp(3), $${values.length})`);
      }
      values.push(first + 1);
      const rows = await prisma.$queryRawUnsafe<Row[]>(
        `SELECT "id", "at", "service", "requestId", "actorKind", "actorId", "operation", "args", "targetType", "targetId", "outcome", "changes"
         FROM "AuditEntry" ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY "at" DESC, "id" DESC LIMIT $${values.length}`,
        ...values,
      );
      const items = rows.slice(0, first);
      return {
        items: items.map((r) => ({
          id: r.id,
          at: r.at.toISOString(),
          service: r.service,
          requestId: r.requestId,
          actorKind: r.actorKind,
          actorId: r.actorId,
          operation: r.operation,
          arguments: JSON.stringify(r.args ?? null),
          targetType: r.targetType,
          targetId: r.targetId,
          outcome: r.outcome,
          changes: (r.changes ?? []).map((c) => ({
            entity: c.entity,
            entityId: c.id,
            op: c.op,
            before: json(c.before),
            after: json(c.after),
          })),
        })),
        pageInfo: { hasNextPage: rows.length > first, endCursor: items.length ? cursorOf(defined(items.at(-1), "the last entry")) : null },
      };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
