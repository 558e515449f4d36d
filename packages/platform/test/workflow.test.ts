/**
 * The durable workflow runner (src/workflow.ts, decision 0031) on real PostgreSQL and Redis: a run
 * "killed" after any step is finished by another runner's sweep — compensated exactly once before
 * its pivot, completed exactly once after it; a compensation that keeps failing ends FAILED, in the
 * operators' list and on /metrics, and an operator's retry finishes it; two runners sweeping at
 * once never take one run twice; a runner whose run was taken over rolls its local step back; the
 * hot path records a run with one insert and one statement inside the local step's transaction.
 *
 * The database is a throwaway schema with a domain's migrations (its "WorkflowRun" table is the
 * platform's, prisma/platform/workflow.prisma) reached through a small pg adapter offering the raw
 * calls of a Prisma client the runner uses.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { logger } from "../src/log.ts";
import { metricsText } from "../src/metrics.ts";
import { createRedis, type Redis } from "../src/redis.ts";
import { createTestRedis, createTestSchema, waitFor, type TestRedis, type TestSchema } from "../src/testing.ts";
import {
  SimulatedCrash,
  WorkflowAbort,
  WorkflowFailed,
  WorkflowRunner,
  type Step,
  type WorkflowDb,
  type WorkflowDefinition,
  type WorkflowSql,
} from "../src/workflow.ts";

/** The raw calls of a Prisma client, on one pg pool (statements counted). */
function pgDb(pool: pg.Pool): WorkflowDb<WorkflowSql> & { statements: string[]; texts: string[] } {
  const statements: string[] = [];
  const texts: string[] = [];
  const on = (c: pg.Pool | pg.PoolClient): WorkflowSql => ({
    async $executeRawUnsafe(q: string, ...values: unknown[]) {
      statements.push(q.trim().split(/\s+/)[0] ?? "");
      texts.push(q);
      return (await c.query(q, values)).rowCount ?? 0;
    },
    async $queryRawUnsafe<T>(q: string, ...values: unknown[]) {
      statements.push(q.trim().split(/\s+/)[0] ?? "");
      texts.push(q);
      return (await c.query(q, values)).rows as T;
    },
  });
  return {
    statements,
    texts,
    ...on(pool),
    async $transaction<R>(fn: (tx: WorkflowSql) => Promise<R>) {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        const r = await fn(on(c));
        await c.query("COMMIT");
        return r;
      } catch (e) {
        await c.query("ROLLBACK");
        throw e;
      } finally {
        c.release();
      }
    },
  };
}

interface Trip {
  id: string;
  /** Steps the test makes fail (invoke), by id. */
  failAt?: string;
}

/**
 * A workflow of four steps over "remote" effects kept in maps (as another domain would, keyed by
 * the run's id, so repeating is harmless) and one local row: hold (remote) → charge (remote) →
 * book (local, the pivot) → notify (remote, after the pivot).
 */
function tripWorkflow(db: WorkflowDb<WorkflowSql>, o: { oneStatement?: boolean } = {}) {
  const held = new Map<string, number>();
  const charged = new Map<string, number>();
  const notified = new Map<string, number>();
  const calls = { release: 0, refund: 0, notify: 0 };
  const failing = { refund: false };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const steps: Step<Trip, WorkflowSql>[] = [
    {
      id: "hold",
      async invoke(s) {
        if (s.failAt === "hold-refused") throw new WorkflowAbort("SOLD_OUT");
        if (!held.has(s.id)) bump(held, s.id);
      },
      async compensate(s) {
        if (held.delete(s.id)) calls.release++;
      },
    },
    {
      id: "charge",
      compensateOnError: true,
      async invoke(s) {
        if (s.failAt === "charge") throw new Error("charge failed (injected)");
        if (s.failAt === "charge-refused") throw new WorkflowAbort("CARD_DECLINED");
        if (!charged.has(s.id)) bump(charged, s.id);
      },
      async compensate(s) {
        if (failing.refund) throw new Error("refund service down (injected)");
        if (charged.delete(s.id)) calls.refund++;
      },
    },
    {
      id: "book",
      local: true,
      async invoke(s, ctx) {
        if (o.oneStatement)
          await ctx.statement((first, cte) => {
            if (s.failAt === "build") throw new Error("the statement's builder failed (injected)");
            return { ctes: `${cte("b")} AS (INSERT INTO "Booking" ("id") SELECT $${first} FROM ${cte("run")})`, values: [s.id] };
          });
        else await ctx.transact((tx) => tx.$executeRawUnsafe(`INSERT INTO "Booking" ("id") VALUES ($1)`, s.id));
      },
    },
    {
      id: "notify",
      async invoke(s) {
        if (s.failAt === "notify") throw new Error("notify failed (injected)");
        calls.notify++;
        bump(notified, s.id);
      },
    },
  ];
  const def: WorkflowDefinition<Trip, WorkflowSql> = { name: "trip", steps, pivot: "book" };
  return { def, held, charged, notified, calls, failing, bookings: () => count(db, `SELECT count(*) AS n FROM "Booking"`) };
}

/** The trip with nothing to do after its local step (notify skipped), under another name. */
function withoutNotify(def: WorkflowDefinition<Trip, WorkflowSql>, name: string): WorkflowDefinition<Trip, WorkflowSql> {
  return { ...def, name, steps: def.steps.map((s) => (s.id === "notify" ? { ...s, skip: () => true } : s)) };
}

async function count(db: WorkflowSql, q: string, ...values: unknown[]): Promise<number> {
  const r = await db.$queryRawUnsafe<Array<{ n: string }>>(q, ...values);
  return Number(r[0]?.n ?? 0);
}

describe("durable workflow runner", () => {
  let schema: TestSchema;
  let testRedis: TestRedis;
  let redis: Redis;
  let pool: pg.Pool;
  let db: ReturnType<typeof pgDb>;
  const log = logger("workflow-test");
  const runner = (o: Partial<ConstructorParameters<typeof WorkflowRunner<WorkflowSql>>[0]> = {}) =>
    new WorkflowRunner<WorkflowSql>({ domain: "wftest", db, log, redis, redisPrefix: testRedis.prefix, leaseMs: 200, backoffMs: 10, ...o });
  const statusOf = async (id: string) =>
    (await db.$queryRawUnsafe<Array<{ status: string }>>(`SELECT "status" FROM "WorkflowRun" WHERE "id" = $1`, id))[0]?.status;
  const expire = () => db.$executeRawUnsafe(`UPDATE "WorkflowRun" SET "leaseUntil" = now() - interval '1 second'`);

  beforeAll(async () => {
    schema = await createTestSchema("order");
    testRedis = createTestRedis();
    redis = createRedis(testRedis.url);
    const u = new URL(schema.url);
    u.searchParams.delete("schema");
    pool = new pg.Pool({ connectionString: u.toString(), max: 8, options: `-c search_path="${schema.schema}"` });
    db = pgDb(pool);
    await db.$executeRawUnsafe(`CREATE TABLE "Booking" ("id" text PRIMARY KEY)`);
  });
  afterAll(async () => {
    await pool?.end();
    redis?.disconnect();
    await testRedis?.cleanup();
    await schema?.drop();
  });
  beforeEach(async () => {
    await db.$executeRawUnsafe(`DELETE FROM "WorkflowRun"`);
    await db.$executeRawUnsafe(`DELETE FROM "Booking"`);
  });

  it("runs every step and records the run: one insert before the first remote step, one update inside the local step's transaction, one at the end", async () => {
    const t = tripWorkflow(db);
    const r = runner();
    db.statements.length = 0;
    const report = await r.run(t.def, "trip:ok", { id: "trip:ok" });
    const written = [...db.statements];
    expect(report).toMatchObject({ completed: ["hold", "charge", "book", "notify"], pastPivot: true, compensated: [] });
    expect(await statusOf("trip:ok")).toBe("COMPLETED");
    expect(await t.bookings()).toBe(1);
    // insert (before hold) · the booking and the run's update in one transaction · completed after notify
    expect(written).toEqual(["INSERT", "INSERT", "UPDATE", "UPDATE"]);

    // a step with nothing to do after the local one: the run completes inside that transaction
    const skipNotify = withoutNotify(t.def, "trip-no-notify");
    db.statements.length = 0;
    await r.run(skipNotify, "trip:skip", { id: "trip:skip" });
    expect([...db.statements]).toEqual(["INSERT", "INSERT", "UPDATE"]);
    expect(await statusOf("trip:skip")).toBe("COMPLETED");
  });

  it("a failure before the pivot undoes the steps done in reverse (the failing one too with compensateOnError); a refusal too", async () => {
    const t = tripWorkflow(db);
    const r = runner();
    await expect(r.run(t.def, "trip:f1", { id: "trip:f1", failAt: "charge" })).rejects.toBeInstanceOf(WorkflowFailed);
    expect(t.held.size + t.charged.size).toBe(0);
    expect(t.calls.release).toBe(1);
    expect(await statusOf("trip:f1")).toBe("COMPENSATED");
    const abort = await r.run(t.def, "trip:f2", { id: "trip:f2", failAt: "charge-refused" }).catch((e) => e);
    expect(abort).toBeInstanceOf(WorkflowAbort);
    expect(abort.code).toBe("CARD_DECLINED");
    expect(t.calls.release).toBe(2);
    expect(await t.bookings()).toBe(0);
    expect(await statusOf("trip:f2")).toBe("COMPENSATED"); // hold was undone: the run says so
  });

  it("firstRecordUnflushed: the run's first insert commits without waiting for the flush; the run is recorded and recovered as any other", async () => {
    const t = tripWorkflow(db);
    const def = { ...t.def, name: "trip-unflushed", firstRecordUnflushed: true };
    db.texts.length = 0;
    await runner().run(def, "trip:unflushed", { id: "trip:unflushed" });
    const inserts = db.texts.filter((q) => q.includes('INSERT INTO "WorkflowRun"'));
    expect(inserts[0]).toContain("set_config('synchronous_commit', 'off', true)");
    expect(await statusOf("trip:unflushed")).toBe("COMPLETED");
    // without the flag the first insert waits for its flush
    db.texts.length = 0;
    await runner().run(t.def, "trip:flushed", { id: "trip:flushed" });
    expect(db.texts.filter((q) => q.includes('INSERT INTO "WorkflowRun"'))[0]).not.toContain("synchronous_commit");
    // killed after its first remote step: the sweep compensates it as usual
    const dying = runner({ leaseMs: 60_000 });
    const crash = (at: string) => {
      if (at === "hold") throw new SimulatedCrash(at);
    };
    await expect(
      dying.run(def, "trip:unflushed-killed", { id: "trip:unflushed-killed" }, { hooks: { afterStep: crash } }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    await expire();
    const next = runner();
    next.register(def);
    expect(await next.sweep()).toMatchObject({ compensated: 1 });
    expect(await statusOf("trip:unflushed-killed")).toBe("COMPENSATED");
    expect(t.held.has("trip:unflushed-killed")).toBe(false);
    expect(t.calls.release).toBe(1);
  });

  it("firstRecordGuard: the run's first record is written only where its guard holds, else the run aborts before any step — on each way the first record is written", async () => {
    const t = tripWorkflow(db);
    const one = tripWorkflow(db, { oneStatement: true });
    // a trip marked closed (a row "closed:<trip>") must not start
    const guarded = (def: WorkflowDefinition<Trip, WorkflowSql>, name: string): WorkflowDefinition<Trip, WorkflowSql> => ({
      ...def,
      name,
      firstRecordUnflushed: true,
      firstRecordGuard: (s, first) => ({
        condition: `NOT EXISTS (SELECT 1 FROM "Booking" WHERE "id" = $${first}::text)`,
        values: [`closed:${s.id}`],
        abort: "CLOSED",
      }),
    });
    const localFirst = (def: WorkflowDefinition<Trip, WorkflowSql>, name: string) => ({
      ...guarded(def, name),
      steps: def.steps.filter((s) => s.id === "book"),
    });
    const r = runner();
    const runs = () => count(db, `SELECT count(*) AS n FROM "WorkflowRun"`);
    for (const [label, def] of [
      ["insert before the first remote step", guarded(t.def, "trip-guarded")],
      ["a local step's transaction", localFirst(t.def, "trip-guarded-local")],
      ["a local step's one statement", localFirst(one.def, "trip-guarded-statement")],
    ] as const) {
      // where the guard holds, the run is recorded and runs as usual
      const open = `${def.name}-open`;
      await r.run(def, open, { id: open });
      expect(await statusOf(open), label).toBe("COMPLETED");
      expect(await count(db, `SELECT count(*) AS n FROM "Booking" WHERE "id" = $1`, open), label).toBe(1);
      // where it does not, nothing runs and nothing is left
      const closed = `${def.name}-closed`;
      await db.$executeRawUnsafe(`INSERT INTO "Booking" ("id") VALUES ($1)`, `closed:${closed}`);
      const before = { runs: await runs(), bookings: await t.bookings(), held: t.held.size };
      db.statements.length = 0;
      const abort = await r.run(def, closed, { id: closed }).catch((e) => e);
      const sent = [...db.statements];
      expect(abort, label).toBeInstanceOf(WorkflowAbort);
      expect(abort.code, label).toBe("CLOSED");
      // one statement written (the guarded record; in a local step's transaction, after its rolled-back rows)
      expect(sent.filter((q) => q === "INSERT" || q === "WITH").length, label).toBe(def.name === "trip-guarded-local" ? 2 : 1);
      expect({ runs: await runs(), bookings: await t.bookings(), held: t.held.size }, label).toEqual(before);
      expect(t.held.has(closed), label).toBe(false);
    }
  });

  it("unflushed first records of runs started in one turn are one statement (decision 0056): each guard on its own values; off: one each; a statement refused as a whole writes each alone", async () => {
    const t = tripWorkflow(db);
    const def: WorkflowDefinition<Trip, WorkflowSql> = {
      ...t.def,
      name: "trip-batched",
      firstRecordUnflushed: true,
      firstRecordGuard: (s, first) => ({
        condition: `NOT EXISTS (SELECT 1 FROM "Booking" WHERE "id" = $${first}::text)`,
        values: [`closed:${s.id}`],
        abort: "CLOSED",
      }),
    };
    const firstRecordTexts = () => db.texts.filter((q) => q.includes('INSERT INTO "WorkflowRun"'));
    const ids = (p: string) => ["a", "b", "closed", "c"].map((x) => `${p}-${x}`);
    const outcomesOf = (r: WorkflowRunner<WorkflowSql>, p: string) =>
      Promise.all(
        ids(p).map((id) =>
          r.run(def, id, { id }).then(
            () => "ran",
            (e) => e.code ?? e.name,
          ),
        ),
      );
    await db.$executeRawUnsafe(
      `INSERT INTO "Booking" ("id") VALUES ($1), ($2), ($3)`,
      "closed:tb-closed",
      "closed:off-closed",
      "closed:fb-closed",
    );

    // batched: one statement for the four first records, unflushed; the closed one aborts, the others run
    db.texts.length = 0;
    expect(await outcomesOf(runner(), "tb")).toEqual(["ran", "ran", "CLOSED", "ran"]);
    expect(firstRecordTexts()).toHaveLength(1);
    expect(firstRecordTexts()[0]?.match(/INSERT INTO "WorkflowRun"/g)).toHaveLength(4);
    expect(firstRecordTexts()[0]?.match(/set_config\('synchronous_commit', 'off', true\)/g)).toHaveLength(4);
    expect(await Promise.all(ids("tb").map(statusOf))).toEqual(["COMPLETED", "COMPLETED", undefined, "COMPLETED"]);
    expect(t.held.has("tb-closed")).toBe(false);

    // off: a statement each, the same outcomes
    db.texts.length = 0;
    expect(await outcomesOf(runner({ batchStatements: false }), "off")).toEqual(["ran", "ran", "CLOSED", "ran"]);
    expect(firstRecordTexts()).toHaveLength(4);

    // a statement refused as a whole (a trigger refusing one of its rows): each first record alone; only that run fails
    await db.$executeRawUnsafe(`CREATE FUNCTION doomed_run() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."id" = 'fb-b' THEN RAISE EXCEPTION 'refused (test)'; END IF; RETURN NEW; END $$`);
    await db.$executeRawUnsafe(`CREATE TRIGGER doomed_run BEFORE INSERT ON "WorkflowRun" FOR EACH ROW EXECUTE FUNCTION doomed_run()`);
    try {
      db.texts.length = 0;
      expect(await outcomesOf(runner(), "fb")).toEqual(["ran", "WorkflowFailed", "CLOSED", "ran"]);
      expect(firstRecordTexts()).toHaveLength(5); // the batch, then each alone
      expect(await Promise.all(ids("fb").map(statusOf))).toEqual(["COMPLETED", undefined, undefined, "COMPLETED"]);
      expect(t.held.has("fb-b")).toBe(false); // its first remote step never ran
    } finally {
      await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS doomed_run ON "WorkflowRun"`);
      await db.$executeRawUnsafe(`DROP FUNCTION IF EXISTS doomed_run()`);
    }
  });

  it("a refusal before any step did something to undo leaves no run record (nothing happened)", async () => {
    const t = tripWorkflow(db);
    const r = runner();
    const abort = await r.run(t.def, "trip:refused-first", { id: "trip:refused-first", failAt: "hold-refused" }).catch((e) => e);
    expect(abort).toBeInstanceOf(WorkflowAbort);
    expect(abort.code).toBe("SOLD_OUT");
    expect(await count(db, `SELECT count(*) AS n FROM "WorkflowRun" WHERE "id" = 'trip:refused-first'`)).toBe(0);
    expect(t.calls).toEqual({ release: 0, refund: 0, notify: 0 });
  });

  for (const [killedAfter, pastPivot] of [
    ["hold", false],
    ["charge", false],
    ["book", true],
  ] as const) {
    it(`a run killed after ${killedAfter} is ${pastPivot ? "completed" : "compensated"} exactly once by another runner's sweep`, async () => {
      const t = tripWorkflow(db);
      const dying = runner({ leaseMs: 60_000 });
      const id = `trip:killed-${killedAfter}`;
      const crash = (at: string) => {
        if (at === killedAfter) throw new SimulatedCrash(at);
      };
      await expect(dying.run(t.def, id, { id }, { hooks: { afterStep: crash } })).rejects.toBeInstanceOf(SimulatedCrash);
      expect(await statusOf(id)).toBe("RUNNING");
      // a new process: its own runner knows the workflow; the dead run's lease runs out
      const next = runner();
      next.register(t.def);
      expect(await next.sweep()).toMatchObject({ resumed: 0, compensated: 0 }); // lease still running
      await expire();
      const swept = await next.sweep();
      const again = await next.sweep();
      expect(again).toEqual({ resumed: 0, compensated: 0, retrying: 0, failed: 0 });
      if (pastPivot) {
        expect(swept).toMatchObject({ resumed: 1, compensated: 0 });
        expect(await statusOf(id)).toBe("COMPLETED");
        expect(t.calls.notify).toBe(1);
        expect(await t.bookings()).toBe(1);
        expect(t.charged.get(id)).toBe(1);
      } else {
        expect(swept).toMatchObject({ resumed: 0, compensated: 1 });
        expect(await statusOf(id)).toBe("COMPENSATED");
        expect(t.held.size + t.charged.size).toBe(0);
        expect(t.calls).toEqual({ release: 1, refund: killedAfter === "charge" ? 1 : 0, notify: 0 });
        expect(await t.bookings()).toBe(0);
      }
    });
  }

  it("a step after the pivot that fails is not undone: the sweep retries it forward", async () => {
    const t = tripWorkflow(db);
    const r = runner();
    const state: Trip = { id: "trip:late", failAt: "notify" };
    const e = await r.run(t.def, state.id, state).catch((x) => x);
    expect(e).toBeInstanceOf(WorkflowFailed);
    expect(e.report.pastPivot).toBe(true);
    expect(await t.bookings()).toBe(1);
    expect(await statusOf(state.id)).toBe("RUNNING");
    // the cause goes away (the recorded state has no failAt… the test's state object does: clear it in the table)
    await db.$executeRawUnsafe(`UPDATE "WorkflowRun" SET "state" = '{"id":"trip:late"}'::jsonb`);
    await waitFor(async () => (await r.sweep()).resumed === 1, "the forward retry");
    expect(await statusOf(state.id)).toBe("COMPLETED");
    expect(t.calls).toEqual({ release: 0, refund: 0, notify: 1 });
  });

  it("a compensation that keeps failing is retried with backoff, ends FAILED in the operators' list and on /metrics, and an operator's retry finishes it", async () => {
    const t = tripWorkflow(db);
    const r = runner({ maxAttempts: 3 });
    t.failing.refund = true;
    const id = "trip:stuck";
    const e = await r
      .run(t.def, id, { id, failAt: "book-never" }, { hooks: { afterStep: (s) => void (s === "charge" && fail()) } })
      .catch((x) => x);
    expect(e).toBeInstanceOf(WorkflowFailed);
    expect(e.report.compensationFailures).toEqual([{ step: "charge", error: "refund service down (injected)" }]);
    expect(await statusOf(id)).toBe("COMPENSATING");
    // the sweep retries (backoff 10 ms, doubling) until the budget is spent
    await waitFor(async () => (await r.sweep(), (await statusOf(id)) === "FAILED"), "the run to fail for good");
    const failed = await r.runs();
    expect(failed.map((f) => [f.id, f.workflow, f.status, f.pastPivot, f.lastError])).toEqual([
      [id, "trip", "FAILED", false, "refund service down (injected)"],
    ]);
    expect(failed[0]?.attempts).toBe(3);
    expect(t.held.get(id)).toBe(1); // nothing after the failing compensation ran: hold is still held
    expect((await metricsText()).body).toMatch(/mg_workflow_runs\{domain="wftest",workflow="trip",status="FAILED"\} 1/);
    expect((await metricsText()).body).toMatch(/mg_workflow_compensation_failures_total\{domain="wftest",workflow="trip"\} [3-9]/);
    // a FAILED run stays put: sweeps leave it to operators
    expect(await r.sweep()).toEqual({ resumed: 0, compensated: 0, retrying: 0, failed: 0 });
    // the operator retries while the cause is still there: one more attempt, back to the sweep's backoff
    expect((await r.retry(id))?.status).toBe("COMPENSATING");
    t.failing.refund = false;
    await waitFor(async () => (await r.sweep(), (await statusOf(id)) === "COMPENSATED"), "the compensation after the fix");
    expect(t.calls).toEqual({ release: 1, refund: 1, notify: 0 });
    expect(t.held.size + t.charged.size).toBe(0);
    expect(await r.retry(id)).toBeNull(); // only FAILED runs are retried
    expect((await metricsText()).body).not.toMatch(/mg_workflow_runs\{domain="wftest",workflow="trip",status="FAILED"\} [1-9]/);
    function fail(): void {
      throw new Error("injected failure after charge");
    }
  });

  it("two runners sweeping at once take each dead run once: with the Redis lock one sweeps; without it the row claims keep runs single", async () => {
    const t = tripWorkflow(db);
    const N = 40;
    const dying = runner({ leaseMs: 60_000 });
    const storm = (tag: string) =>
      Promise.all(
        Array.from({ length: N }, (_, i) => {
          const id = `trip:${tag}-${i}`;
          // half die before the pivot, half after it
          const at = i % 2 ? "charge" : "book";
          return dying.run(t.def, id, { id }, { hooks: { afterStep: (s) => void (s === at && crash(s)) } }).catch((e) => {
            if (!(e instanceof SimulatedCrash)) throw e;
          });
        }),
      );
    const pair = (o: Parameters<typeof runner>[0] = {}) => {
      const [a, b] = [runner(o), runner(o)];
      a.register(t.def);
      b.register(t.def);
      return [a, b] as const;
    };

    await storm("locked");
    await expire();
    const [a, b] = pair();
    const [ra, rb] = await Promise.all([a.sweep(), b.sweep()]);
    expect([ra, rb].filter((r) => r.resumed + r.compensated > 0)).toHaveLength(1);
    expect(ra.resumed + rb.resumed).toBe(N / 2);
    expect(ra.compensated + rb.compensated).toBe(N / 2);
    expect(t.calls).toEqual({ release: N / 2, refund: N / 2, notify: N / 2 });

    await storm("unlocked");
    await expire();
    const [c, d] = pair({ redis: undefined });
    const rs = await Promise.all([c.recover(7), d.recover(7), c.sweep(), d.sweep(), c.recover(3), d.recover(3)]);
    expect(rs.reduce((x, r) => x + r.resumed, 0)).toBe(N / 2);
    expect(rs.reduce((x, r) => x + r.compensated, 0)).toBe(N / 2);
    expect(t.calls).toEqual({ release: N, refund: N, notify: N });
    expect(await t.bookings()).toBe(N);
    expect(await count(db, `SELECT count(*) AS n FROM "WorkflowRun" WHERE "status" IN ('COMPLETED', 'COMPENSATED')`)).toBe(2 * N);
    function crash(at: string): void {
      throw new SimulatedCrash(at);
    }
  });

  it("a run queued behind a slow recovery is left to a parallel sweep, not recovered twice: a run's lease starts with its own recovery and is renewed per step", async () => {
    const t = tripWorkflow(db);
    const dying = runner({ leaseMs: 60_000 });
    const ids = ["a", "b", "c"].map((x) => `trip:queued-${x}`);
    for (const id of ids)
      await expect(dying.run(t.def, id, { id }, { hooks: { afterStep: (s) => void (s === "charge" && crash(s)) } })).rejects.toBeInstanceOf(
        SimulatedCrash,
      );
    await expire();
    // A compensates slowly: two steps of 700 ms per run, longer together than its 1 s lease. B (no Redis
    // lock, as when A's lock ran out) sweeps after that lease would have run out for a batch A claimed at once.
    const compensations: string[] = [];
    const a = runner({
      redis: undefined,
      leaseMs: 1000,
      hooks: { beforeCompensate: async (s) => (compensations.push(`A ${s}`), await sleep(700)) },
    });
    const b = runner({ redis: undefined, leaseMs: 1000, hooks: { beforeCompensate: (s) => void compensations.push(`B ${s}`) } });
    a.register(t.def);
    b.register(t.def);
    const slow = a.recover();
    await sleep(1100);
    const rb = await b.recover();
    const ra = await slow;
    // each run compensated by one runner, each of its two steps once; B took the runs A had not reached
    expect(compensations).toHaveLength(2 * ids.length);
    expect(ra.compensated + rb.compensated).toBe(ids.length);
    expect(ra.retrying + rb.retrying).toBe(0);
    expect(rb.compensated).toBeGreaterThan(0);
    expect(t.calls).toEqual({ release: 3, refund: 3, notify: 0 });
    for (const id of ids) expect(await statusOf(id)).toBe("COMPENSATED");
    function crash(at: string): void {
      throw new SimulatedCrash(at);
    }
  });

  it.each([
    ["its transaction rolls back", false],
    ["its one statement (ctx.statement) writes nothing", true],
  ])("a runner whose lease ran out and whose run another runner compensated: %s", async (_, oneStatement) => {
    const t = tripWorkflow(db, { oneStatement });
    const slow = runner();
    const id = `trip:slow:${oneStatement}`;
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let reached!: () => void;
    const atCharge = new Promise<void>((r) => (reached = r));
    const running = slow
      .run(t.def, id, { id }, { hooks: { afterStep: async (s) => (s === "charge" ? (reached(), await paused) : undefined) } })
      .catch((e) => e);
    await atCharge;
    await expire();
    const other = runner();
    other.register(t.def);
    expect(await other.sweep()).toMatchObject({ compensated: 1 });
    resume();
    const e = await running;
    expect(e).toBeInstanceOf(WorkflowFailed);
    expect(String(e.message)).toMatch(/taken over/);
    expect(await t.bookings()).toBe(0);
    expect(await statusOf(id)).toBe("COMPENSATED");
    expect(t.held.size + t.charged.size).toBe(0);
  });

  it("a local step as one statement (ctx.statement): the run's record and the step's rows in one round trip, completed with them", async () => {
    const t = tripWorkflow(db, { oneStatement: true });
    const r = runner();
    db.statements.length = 0;
    await r.run(t.def, "trip:one", { id: "trip:one" });
    // insert (before hold) · the run's update and the booking in one statement · completed after notify
    expect([...db.statements]).toEqual(["INSERT", "WITH", "UPDATE"]);
    expect(await statusOf("trip:one")).toBe("COMPLETED");
    expect(await t.bookings()).toBe(1);

    const skipNotify = withoutNotify(t.def, "trip-one-no-notify");
    db.statements.length = 0;
    await r.run(skipNotify, "trip:one-skip", { id: "trip:one-skip" });
    expect([...db.statements]).toEqual(["INSERT", "WITH"]);
    expect(await statusOf("trip:one-skip")).toBe("COMPLETED");
    expect(await t.bookings()).toBe(2);

    // the local step first: the statement inserts the run
    const localFirst: WorkflowDefinition<Trip, WorkflowSql> = {
      name: "trip-one-local-first",
      pivot: "book",
      steps: t.def.steps.filter((s) => s.id === "book"),
    };
    db.statements.length = 0;
    await r.run(localFirst, "trip:one-first", { id: "trip:one-first" });
    expect([...db.statements]).toEqual(["WITH"]);
    expect(await statusOf("trip:one-first")).toBe("COMPLETED");
    expect(await t.bookings()).toBe(3);
  });

  describe("local steps' statements of one turn as one statement (decision 0056)", () => {
    /** Runs `ids` at once, each held after "charge" until all got there, so their local steps start in one turn. */
    async function together(
      r: WorkflowRunner<WorkflowSql>,
      def: WorkflowDefinition<Trip, WorkflowSql>,
      ids: string[],
      before?: () => Promise<unknown>,
      failAt: Record<string, string> = {},
    ) {
      let open!: () => void;
      const gate = new Promise<void>((res) => (open = res));
      let waiting = 0;
      const afterStep = async (step: string) => {
        if (step !== "charge") return;
        if (++waiting === ids.length) await (before?.() ?? Promise.resolve()).then(open);
        await gate;
      };
      db.statements.length = 0;
      const out = await Promise.all(
        ids.map((id) =>
          r.run(def, id, { id, failAt: failAt[id] }, { hooks: { afterStep } }).then(
            () => "ok",
            (e: Error) => e,
          ),
        ),
      );
      return { out, statements: db.statements.filter((x) => x === "WITH").length };
    }
    const idsOf = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `trip:${tag}:${i}`);
    const bookedOf = async (ids: string[]) =>
      (await db.$queryRawUnsafe<Array<{ id: string }>>(`SELECT "id" FROM "Booking" WHERE "id" = ANY($1::text[]) ORDER BY "id"`, ids)).map(
        (b) => b.id,
      );

    it("one statement for the runs of a turn: each run's rows and record, as alone; a run taken over in it writes nothing while the others write", async () => {
      const t = tripWorkflow(db, { oneStatement: true });
      const ids = idsOf("batch", 6);
      const lost = ids[2] as string;
      const { out, statements } = await together(runner(), t.def, ids, () =>
        db.$executeRawUnsafe(`UPDATE "WorkflowRun" SET "owner" = 'another runner' WHERE "id" = $1`, lost),
      );
      expect(statements).toBe(1);
      ids.forEach((id, i) => (id === lost ? expect(String((out[i] as Error).message)).toMatch(/taken over/) : expect(out[i]).toBe("ok")));
      expect(await bookedOf(ids)).toEqual(ids.filter((id) => id !== lost));
      for (const id of ids) if (id !== lost) expect(await statusOf(id)).toBe("COMPLETED");
      expect(t.calls.notify).toBe(5);
    });

    it("a statement refused as a whole (one run's unique violation) runs each alone: only that run fails and is undone", async () => {
      const t = tripWorkflow(db, { oneStatement: true });
      const ids = idsOf("refused", 5);
      const clash = ids[3] as string;
      await db.$executeRawUnsafe(`INSERT INTO "Booking" ("id") VALUES ($1)`, clash);
      const { out, statements } = await together(runner(), t.def, ids);
      expect(statements).toBe(1 + ids.length);
      ids.forEach((id, i) => (id === clash ? expect(out[i]).toBeInstanceOf(WorkflowFailed) : expect(out[i]).toBe("ok")));
      expect(await bookedOf(ids)).toEqual(ids); // the clashing id's row is the one inserted before
      expect(await statusOf(clash)).toBe("COMPENSATED");
      expect(t.held.has(clash) || t.charged.has(clash)).toBe(false);
      for (const id of ids) if (id !== clash) expect(await statusOf(id)).toBe("COMPLETED");
    });

    it("a step whose statement's builder throws fails only its own run: the others are sent, each alone", async () => {
      const t = tripWorkflow(db, { oneStatement: true });
      const ids = idsOf("builder", 4);
      const bad = ids[1] as string;
      const { out, statements } = await together(runner(), t.def, ids, undefined, { [bad]: "build" });
      expect(statements).toBe(ids.length - 1);
      ids.forEach((id, i) =>
        id === bad ? expect(String((out[i] as Error).message)).toMatch(/builder failed/) : expect(out[i]).toBe("ok"),
      );
      expect(await bookedOf(ids)).toEqual(ids.filter((id) => id !== bad));
      expect(await statusOf(bad)).toBe("COMPENSATED");
    });

    it("off (option or WORKFLOW_STATEMENT_BATCH=off): one statement per run", async () => {
      const t = tripWorkflow(db, { oneStatement: true });
      const ids = idsOf("off", 4);
      expect((await together(runner({ batchStatements: false }), t.def, ids)).statements).toBe(ids.length);
      process.env.WORKFLOW_STATEMENT_BATCH = "off";
      try {
        const more = idsOf("off-env", 3);
        expect((await together(runner(), t.def, more)).statements).toBe(more.length);
      } finally {
        delete process.env.WORKFLOW_STATEMENT_BATCH;
      }
      expect((await bookedOf([...ids, ...idsOf("off-env", 3)])).length).toBe(7);
    });
  });

  it("run ids are idempotency keys: the same id twice runs once", async () => {
    const t = tripWorkflow(db);
    const r = runner();
    const id = `trip:${randomUUID()}`;
    await r.run(t.def, id, { id });
    await expect(r.run(t.def, id, { id })).rejects.toBeInstanceOf(WorkflowFailed);
    expect(await t.bookings()).toBe(1);
    expect(t.calls.notify).toBe(1);
  });
});
