/**
 * The audit trail of operator mutations (decision 0024): who (the caller's kind and id), what (the
 * mutation, its arguments, the entity it targeted), when, the request id, and the before/after of
 * every row it changed.
 *
 * One wrapper does it for every domain, so a new operator mutation cannot forget it:
 *
 * - `asAdmin(permission, fn)` (access.ts) runs every Mutation field it guards inside an audit scope
 *   (`audited`). It needs the subgraph's `AuditLog` in its context (startSubgraph puts it there);
 *   a Mutation without one fails closed.
 * - The domain's Prisma client goes through `auditedPrisma` once: inside a scope, each row write
 *   (create, update, upsert, delete and their *Many forms) is recorded with the row before (read in
 *   the same transaction) and after. An interactive `$transaction` appends the entry of the rows it
 *   changed to the sink *inside that transaction*: the change and its entry commit or roll back
 *   together. A write outside any transaction gets a transaction of its own with its entry. A
 *   mutation that changed no row but succeeded (Redis, a queue) gets one entry when the resolver
 *   returns; one that threw, or answered a refusal (a result `code` other than OK), gets none.
 * - The sink of the member domain inserts into its own append-only `"AuditEntry"` table; every other
 *   domain writes the entry into its transactional outbox (QueueName.auditEntries), and member's
 *   worker appends it (the outbox key is the entry id: a relay that repeats itself adds nothing).
 *
 * Raw SQL (`$executeRaw…`) inside a scope is not parsed: the entry notes that one ran. Values whose
 * column or argument name says password, hash, secret or token are stored as "[redacted]".
 */
import type { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { auditFrames, unaudited } from "./audit-scope.ts";
import type { Identity } from "./auth.ts";
import { writeOutbox, type OutboxJob, type OutboxSql } from "./outbox.ts";
import { QueueName } from "./queue.ts";

/** One row a mutation changed: its model, id, and the row before and after (null when absent). */
export interface AuditChange {
  entity: string;
  id: string | null;
  op: "create" | "update" | "delete" | "raw";
  before: unknown;
  after: unknown;
}

/** One audit entry as stored (`"AuditEntry"` in the member schema) and carried by the outbox job. */
export interface AuditEntry {
  id: string;
  at: string;
  service: string;
  requestId: string;
  actorKind: string;
  actorId: string | null;
  operation: string;
  args: unknown;
  targetType: string | null;
  targetId: string | null;
  outcome: string | null;
  changes: AuditChange[];
}

/** Where a domain's entries go, inside the transaction (or client) it is given. */
export type AuditSink = (db: OutboxSql, entries: AuditEntry[]) => Promise<void>;

/** The audit trail of one domain: its sink, and the client that writes an entry outside a transaction. */
export interface AuditLog {
  readonly service: string;
  readonly sink: AuditSink;
  readonly db: OutboxSql;
}

interface Scope {
  log: AuditLog;
  identity: Identity;
  requestId: string;
  operation: string;
  args: unknown;
  /** Changes made outside any transaction: written when the resolver returns. */
  loose: AuditChange[];
  /** Entries written so far (inside transactions). */
  written: number;
}

interface Frame {
  scope: Scope;
  /** The interactive transaction the code runs in, and the rows it changed. */
  tx?: { client: any; changes: AuditChange[] };
}

const frames = auditFrames as AsyncLocalStorage<Frame>;

/** The audit scope the caller runs in (tests, and code that wants to know). */
export function auditScope(): { operation: string; requestId: string } | undefined {
  const s = frames.getStore()?.scope;
  return s && { operation: s.operation, requestId: s.requestId };
}

/** Whether the caller runs inside an audit scope (for code that pays for an extra step only then). */
export function auditing(): boolean {
  return frames.getStore() !== undefined;
}

/**
 * Records changes the generic capture cannot see (a raw SQL write): into the entry of the current
 * transaction, or of the call when outside one. Outside an audit scope it does nothing.
 */
export function auditNote(...changes: AuditChange[]): void {
  const frame = frames.getStore();
  if (frame)
    record(
      frame,
      changes.map((c) => ({ ...c, before: auditValue(c.before), after: auditValue(c.after) })),
    );
}

const SECRET = /password|hash|secret|token/i;

/** A JSON-safe copy (Decimal and Date as strings, BigInt as a string, secrets redacted). */
export function auditValue(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(
    JSON.stringify(v, function (this: Record<string, unknown>, k, val) {
      if (k && SECRET.test(k) && val != null) return "[redacted]";
      if (typeof val === "bigint") return val.toString();
      return val;
    }),
  );
}

function entry(scope: Scope, changes: AuditChange[], outcome: string | null): AuditEntry {
  const first = changes.find((c) => c.op !== "raw");
  const target = first ? { type: first.entity, id: first.id } : targetFromArgs(scope.args);
  return {
    id: `audit.${randomUUID()}`,
    at: new Date().toISOString(),
    service: scope.log.service,
    requestId: scope.requestId,
    actorKind: scope.identity.kind,
    actorId: scope.identity.id ?? scope.identity.service ?? null,
    operation: scope.operation,
    args: auditValue(scope.args),
    targetType: target.type,
    targetId: target.id,
    outcome,
    changes,
  };
}

/** Without a changed row: the first `id` / `…Id` argument names the target (`orderId` → Order). */
function targetFromArgs(args: unknown): { type: string | null; id: string | null } {
  const a = (args ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== "string") continue;
    if (k === "id") return { type: null, id: v };
    if (k.endsWith("Id")) return { type: k.charAt(0).toUpperCase() + k.slice(1, -2), id: v };
  }
  return { type: null, id: null };
}

/** The sink's own write is not a change of the mutation: it runs outside the scope. */
const write = (log: AuditLog, db: OutboxSql, entries: AuditEntry[]) => unaudited(() => log.sink(db, entries));

function outcomeOf(result: unknown): string | null {
  const code = (result as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

/**
 * Runs an operator mutation inside an audit scope (asAdmin does this for every Mutation field it
 * guards). Entries of the rows changed inside transactions are written there; the rest (or, when
 * nothing was written, one entry of the call itself) when `fn` returns. A throw writes nothing more.
 */
export async function audited<R>(
  log: AuditLog | undefined,
  ctx: { identity: Identity; requestId: string },
  operation: string,
  args: unknown,
  fn: () => R | Promise<R>,
): Promise<Awaited<R>> {
  if (!log) throw new Error(`operator mutation ${operation} runs without an audit log (startSubgraph's audit option)`);
  const scope: Scope = { log, identity: ctx.identity, requestId: ctx.requestId, operation, args, loose: [], written: 0 };
  // awaited inside the scope: a lazy PrismaPromise returned by `fn` only runs when awaited
  const result = await frames.run({ scope }, async () => await fn());
  // Nothing changed and the answer is a refusal (a result code other than OK): no entry, as for a throw.
  const outcome = outcomeOf(result);
  if (scope.loose.length || (scope.written === 0 && (outcome === null || outcome === "OK")))
    await write(log, log.db, [entry(scope, scope.loose, outcome)]);
  return result;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const WRITES = new Set([
  "create",
  "createMany",
  "createManyAndReturn",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "upsert",
  "delete",
  "deleteMany",
]);
const MANY_LIMIT = 200;

function record(frame: Frame, changes: AuditChange[]) {
  (frame.tx ? frame.tx.changes : frame.scope.loose).push(...changes);
}

const idOf = (row: any): string | null => (row && row.id != null ? String(row.id) : null);

/** The id of a row without an `id` column, from its unique filter (`{ a_b: { a, b } }` → "a:b"). */
function whereId(where: any): string | null {
  if (!where || typeof where !== "object") return null;
  const vals = Object.values(where).flatMap((v) => (v && typeof v === "object" && !(v instanceof Date) ? Object.values(v) : [v]));
  return vals.length && vals.every((v) => typeof v === "string" || typeof v === "number") ? vals.join(":") : null;
}

const NESTED = [
  "create",
  "createMany",
  "connect",
  "connectOrCreate",
  "set",
  "update",
  "updateMany",
  "upsert",
  "delete",
  "deleteMany",
  "disconnect",
];
/** The relations a write's data writes too (nested writes): read with the row, before and after. */
function nestedInclude(data: any): Record<string, true> | undefined {
  if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
  const inc: Record<string, true> = {};
  for (const [k, v] of Object.entries(data))
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).some((x) => NESTED.includes(x))) inc[k] = true;
  return Object.keys(inc).length ? inc : undefined;
}

/**
 * The domain's Prisma client, recording row writes made inside an audit scope (outside one it only
 * passes calls through). Use the returned client everywhere in the domain; `log` is its AuditLog.
 */
export function auditedPrisma<T extends object>(client: T, service: string, sink: AuditSink): { prisma: T; log: AuditLog } {
  const base = client as any;
  async function onWrite({
    model,
    operation,
    args,
    query,
  }: {
    model: string;
    operation: string;
    args: any;
    query: (a: any) => Promise<any>;
  }) {
    const frame = frames.getStore();
    if (!frame) return query(args);
    const name = lowerFirst(model);
    // A write outside a transaction gets one of its own, so the row and its entry commit together.
    if (!frame.tx) return root.$transaction(async (tx: any) => await tx[name][operation](args));
    const db = frame.tx.client[name];
    const include = nestedInclude(args.data ?? args.create ?? args.update);
    const read = (row: any, where?: any) =>
      idOf(row) ? db.findUnique({ where: { id: row.id }, include }) : where ? db.findUnique({ where, include }) : row;
    switch (operation) {
      case "create": {
        const r = await query(args);
        record(frame, [{ entity: model, id: idOf(r), op: "create", before: null, after: auditValue(await read(r)) }]);
        return r;
      }
      case "createMany":
      case "createManyAndReturn": {
        const r = await query(args);
        const rows = Array.isArray(r) ? r : [args.data].flat();
        record(
          frame,
          rows
            .slice(0, MANY_LIMIT)
            .map((row: any) => ({ entity: model, id: idOf(row), op: "create" as const, before: null, after: auditValue(row) })),
        );
        return r;
      }
      case "update":
      case "upsert":
      case "delete": {
        const before = await db.findUnique({ where: args.where, include });
        const r = await query(args);
        const after = operation === "delete" ? null : await read(r ?? before, args.where);
        const op = operation === "delete" ? "delete" : before ? "update" : "create";
        record(frame, [
          { entity: model, id: idOf(before) ?? idOf(r) ?? whereId(args.where), op, before: auditValue(before), after: auditValue(after) },
        ]);
        return r;
      }
      default: {
        // updateMany / deleteMany (and their AndReturn forms): the rows the filter matched, before and after (first MANY_LIMIT)
        const before: any[] = await db.findMany({ where: args.where, take: MANY_LIMIT });
        const r = await query(args);
        const ids = before.map(idOf).filter((x): x is string => x !== null);
        const after: any[] =
          operation === "deleteMany" || !ids.length ? [] : await db.findMany({ where: { id: { in: before.map((b) => b.id) } } });
        const byId = new Map(after.map((a) => [idOf(a), a]));
        record(
          frame,
          before.map((b) => ({
            entity: model,
            id: idOf(b),
            op: operation === "deleteMany" ? ("delete" as const) : ("update" as const),
            before: auditValue(b),
            after: auditValue(byId.get(idOf(b)) ?? null),
          })),
        );
        return r;
      }
    }
  }
  async function onRawWrite({ args, query }: { args: any; query: (a: any) => Promise<any> }) {
    const r = await query(args);
    const frame = frames.getStore();
    if (frame && Number(r) > 0) record(frame, [{ entity: "(sql)", id: null, op: "raw", before: null, after: { rows: Number(r) } }]);
    return r;
  }
  // Only writes are intercepted: reads never pass through here.
  const extended = base.$extends({
    query: {
      $allModels: Object.fromEntries([...WRITES].map((op) => [op, onWrite])),
      $executeRaw: onRawWrite,
      $executeRawUnsafe: onRawWrite,
    },
  });
  const transaction = extended.$transaction.bind(extended);
  const root: any = new Proxy(extended, {
    get(target, p, receiver) {
      if (p !== "$transaction") return Reflect.get(target, p, receiver);
      return (arg: any, opts?: any) => {
        const frame = frames.getStore();
        if (!frame || typeof arg !== "function") return transaction(arg, opts);
        return transaction(async (tx: any) => {
          const txFrame = { client: tx, changes: [] as AuditChange[] };
          const inner: Frame = { scope: frame.scope, tx: txFrame };
          const r = await frames.run(inner, async () => await arg(tx));
          if (txFrame.changes.length) {
            await write(frame.scope.log, tx, [entry(frame.scope, txFrame.changes, outcomeOf(r))]);
            frame.scope.written++;
          }
          return r;
        }, opts);
      };
    },
  });
  return { prisma: root as T, log: { service, sink, db: root } };
}

/** The outbox job carrying one entry to member's audit trail (jobId = entry id). */
export function auditJob(e: AuditEntry): OutboxJob<AuditEntry> {
  return { key: e.id, queue: QueueName.auditEntries, name: "append", data: e };
}

/** The sink of a domain with an outbox: the entry travels to member's trail, in the same transaction. */
export const outboxAuditSink: AuditSink = (db, entries) => writeOutbox(db, entries.map(auditJob));

/** Appends entries to the `"AuditEntry"` table of the client's schema (member); an id already there is kept. */
export const tableAuditSink: AuditSink = async (db, entries) => {
  if (!entries.length) return;
  await db.$executeRawUnsafe(
    `INSERT INTO "AuditEntry" ("id", "at", "service", "requestId", "actorKind", "actorId", "operation", "args", "targetType", "targetId", "outcome", "changes")
     SELECT * FROM unnest($1::text[], $2::timestamp(3)[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::jsonb[])
     ON CONFLICT ("id") DO NOTHING`,
    entries.map((e) => e.id),
    entries.map((e) => e.at),
    entries.map((e) => e.service),
    entries.map((e) => e.requestId),
    entries.map((e) => e.actorKind),
    entries.map((e) => e.actorId),
    entries.map((e) => e.operation),
    entries.map((e) => JSON.stringify(e.args ?? null)),
    entries.map((e) => e.targetType),
    entries.map((e) => e.targetId),
    entries.map((e) => e.outcome),
    entries.map((e) => JSON.stringify(e.changes)),
  );
};
