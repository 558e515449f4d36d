/**
 * Fault injection with real processes (issue 12, decision 0032): the whole stack as processes
 * (scripts/stack.ts) on a Redis server of its own (AOF, appendfsync everysec) and a throwaway database;
 * members buy and grab through the gateway and ask again with the same idempotency key until they get
 * a final answer. Each scenario kills, stops, restarts or slows one thing in the middle of a storm and
 * then counts: stock = initial − sold, every reservation exactly one order, every reservation the
 * server made known to its buyer, envelopes grabbed + returned = total, each credited once.
 *
 *   kill -9 of the workers during a seckill storm, and during a red-envelope rain
 *   kill -9 of Redis itself mid-storm, restarted from its AOF
 *   a subgraph that answers slowly: the gateway's time-out, then its breaker (fails fast), then recovery
 *   SIGTERM of promotion and the workers mid-storm: requests and stream entries in flight finished
 *   a Redis that came back without an item's keys: the workers' start-up check rebuilds it from PostgreSQL
 *
 * Every scenario prints what it killed and what it counted ("[faults] …").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDENTITY_HEADER, signIdentity } from "../../packages/platform/src/auth.ts";
import { waitFor } from "../../packages/platform/src/testing.ts";
import { freePort, type Exit } from "../../scripts/stack.ts";
import { adminToken, pool, registerMemberPatiently, startE2E, type E2E } from "../e2e/harness.ts";
import {
  buyUntilAnswered,
  Counter,
  grabUntilAnswered,
  metric,
  newKey,
  startRedisServer,
  startSlowProxy,
  type Answer,
  type RedisServer,
  type SlowProxy,
} from "./support.ts";

interface Item {
  sessionId: string;
  skuId: string;
  stock: number;
  shards: number;
}

const MEMBERS = 60;

describe("fault injection: processes killed, stopped, restarted and slowed in the middle of storms", () => {
  let redis: RedisServer;
  let proxy: SlowProxy;
  let e: E2E;
  let count: Counter;
  let admin: string;
  let members: string[] = [];
  const skus: string[] = [];
  let url: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const promotionPort = await freePort();
    proxy = await startSlowProxy(promotionPort);
    e = await startE2E({
      env: {
        REDIS_URL: redis.url,
        PROMOTION_PORT: String(promotionPort),
        SECKILL_PAYMENT_TIMEOUT_SECONDS: "3600",
        RATE_LIMIT_PER_MINUTE: "1000000",
        GATEWAY_SUBGRAPH_TIMEOUT_MS: "3000",
        GATEWAY_CIRCUIT_FAILURES: "3",
        GATEWAY_CIRCUIT_COOLDOWN_MS: "3000",
      },
      // the gateway reaches promotion through the proxy (the slow-subgraph scenario); the others directly
      processEnv: { gateway: { PROMOTION_URL: proxy.url }, promotion: { LOG_LEVEL: "info" }, workers: { LOG_LEVEL: "info" } },
    });
    url = e.stack.gatewayUrl;
    count = await Counter.open(e.databases[0]!.url, redis.url, e.cfg.REDIS_PREFIX);
    admin = await adminToken(e);
    members = await pool(
      Array.from({ length: MEMBERS }, (_, i) => i),
      4,
      async () => (await registerMemberPatiently(e, admin)).token,
    );
    // SKUs with stock enough for a session each
    const items = (await e.api.ok("SearchProducts", { query: { keyword: "", first: 20 } })).searchProducts.items as Array<{
      spuId: string;
    }>;
    for (const p of items) {
      const product = (await e.api.ok("Product", { id: p.spuId })).product as { skus: Array<{ id: string; stock: { available: number } }> };
      skus.push(...product.skus.filter((s) => s.stock.available >= 50).map((s) => s.id));
    }
    expect(skus.length).toBeGreaterThanOrEqual(6);
    const funded = await e.api.raw(
      `mutation { adminFundMarketingAccount(currency: "CNY", amount: "1000.00", reason: "fault tests", idempotencyKey: "faults-fund") { code } }`,
      {},
      { token: admin },
    );
    expect(funded.data?.adminFundMarketingAccount.code).toBe("OK");
  }, 600_000);

  afterAll(async () => {
    await count?.close();
    await e?.stop();
    await proxy?.close();
    await redis?.stop();
  });

  /** A seckill session of one SKU, online (the workers' lifecycle tick). */
  async function seckillItem(stock: number, shards: number): Promise<Item> {
    const skuId = skus.shift()!;
    const created = await e.api.ok(
      "AdminCreateSeckillSession",
      {
        input: {
          title: "fault storm",
          startsAt: new Date(Date.now() - 1000).toISOString(),
          endsAt: new Date(Date.now() + 3600_000).toISOString(),
          items: [{ skuId, seckillPrice: "1.00", stock, perUserLimit: 1, shards }],
        },
      },
      admin,
    );
    const sessionId = created.adminCreateSeckillSession.id as string;
    await waitFor(
      async () =>
        ((await e.api.ok("SeckillSessions")).seckillSessions as Array<{ id: string; status: string }>).find((s) => s.id === sessionId)
          ?.status === "ONLINE",
      "the session online",
      60_000,
    );
    return { sessionId, skuId, stock, shards };
  }

  /** Each member tries `tries` buys (a new key each; a failed attempt asked again with its key); `onAnswer` after each final answer. */
  function seckillStorm(item: Item, who: string[], tries: number, onAnswer?: (n: number) => void): Promise<Answer[]> {
    let answered = 0;
    return pool(who, 20, async (token) => {
      const mine: Answer[] = [];
      for (let t = 0; t < tries; t++) {
        mine.push(await buyUntilAnswered(url, token, { sessionId: item.sessionId, skuId: item.skuId, idempotencyKey: newKey() }));
        onAnswer?.(++answered);
      }
      return mine;
    }).then((xs) => xs.flat());
  }

  /**
   * After a fault: every reservation a buyer was told of has exactly one order, PostgreSQL's copy holds
   * exactly those reservations, and the stock left is the initial stock minus what they hold.
   */
  async function settleAndCount(item: Item, answers: Answer[], label: string): Promise<Record<string, number>> {
    const rids = [
      ...new Set(answers.flatMap((a) => ((a.code === "OK" || a.code === "DUPLICATE") && a.reservationId ? [a.reservationId] : []))),
    ];
    await waitFor(
      async () => {
        const orders = await count.ordersOf(rids);
        return rids.every((r) => orders.get(r)?.count === 1) && (await count.seckillBacklog(item.sessionId, item.skuId, item.shards)) === 0;
      },
      `${label}: one order per reservation and the streams drained`,
      180_000,
    );
    const orders = await count.ordersOf(rids);
    const copies = await count.seckillCopies(item.sessionId);
    const { stock } = await count.seckillRedis(item.sessionId, item.skuId, item.shards);
    const codes: Record<string, number> = {};
    for (const a of answers) codes[a.code] = (codes[a.code] ?? 0) + 1;
    const retried = answers.filter((a) => a.attempts > 1).length;
    const out = {
      answers: answers.length,
      reservations: rids.length,
      orders: [...orders.values()].reduce((s, o) => s + o.count, 0),
      copies: copies.length,
      stockLeft: stock,
      retried,
    };
    console.log(
      `[faults] ${label} — counted: answers ${JSON.stringify(codes)}, ${retried} asked again after a failure; reservations known to buyers ${out.reservations}, orders ${out.orders} (one each), PostgreSQL copies ${out.copies}, stock left ${stock} = ${item.stock} − ${rids.length} sold`,
    );
    expect(rids.length).toBeLessThanOrEqual(item.stock);
    expect([...orders.values()].every((o) => o.count === 1)).toBe(true);
    expect(out.orders).toBe(rids.length);
    expect(copies.map((c) => c.id).sort()).toEqual([...rids].sort()); // nothing made that no buyer was told of, nothing lost
    expect(copies.every((c) => c.status === "ORDERED" && c.orderId)).toBe(true);
    expect(stock).toBe(item.stock - copies.reduce((s, c) => s + c.quantity, 0));
    const listed = ((await e.api.ok("SeckillSessions")).seckillSessions as Array<{ id: string; items: Array<{ remaining: number }> }>).find(
      (s) => s.id === item.sessionId,
    );
    expect(listed?.items[0]?.remaining).toBe(stock);
    return out;
  }

  /** SIGSTOP / SIGCONT of one process of the stack (it stays alive, answering nothing meanwhile). */
  const freeze = (name: string, on: boolean) => e.stack.processes.get(name)!.kill(on ? "SIGSTOP" : "SIGCONT");

  it("kill -9 of the workers during a seckill storm, with order calls in flight: after a restart, every reservation has exactly one order", async () => {
    const item = await seckillItem(40, 2);
    // order answers nothing for a while: the workers' order calls hang with their stream entries unacknowledged
    freeze("order", true);
    let pendingAtKill: number;
    let copiesAtKill: number;
    const pid = e.stack.processes.get("workers")!.pid;
    let killed: Promise<unknown> | undefined;
    try {
      const storm = seckillStorm(item, members, 4);
      // entries read and copied to PostgreSQL, their orders asked for and hanging
      await waitFor(
        async () =>
          (await count.seckillPending(item.sessionId, item.skuId, item.shards)) > 0 &&
          (await count.seckillCopies(item.sessionId)).length > 0,
        "entries in flight at the workers",
        120_000,
      );
      pendingAtKill = await count.seckillPending(item.sessionId, item.skuId, item.shards);
      copiesAtKill = (await count.seckillCopies(item.sessionId)).length;
      killed = e.stack.kill("workers", "SIGKILL");
      expect(await killed).toEqual({ code: null, signal: "SIGKILL" });
      freeze("order", false); // order now finishes what the dead worker had sent: those orders exist, unmarked
      const answers = await storm;
      console.log(
        `[faults] killed the workers process (pid ${pid}) with SIGKILL mid seckill storm while ${pendingAtKill} stream entries were delivered and unacknowledged (their order calls hanging; ${copiesAtKill} reservations already copied to PostgreSQL); restarting it`,
      );
      await e.stack.restart("workers");
      const c = await settleAndCount(item, answers, "workers killed mid seckill storm");
      expect(c.reservations).toBe(40);
      expect(c.stockLeft).toBe(0);
    } finally {
      freeze("order", false);
    }
  }, 400_000);

  it("kill -9 of the workers during a red-envelope rain, with credits in flight: after a restart, every grab is recorded and credited once, grabbed + returned = total", async () => {
    const rain = (
      await e.api.ok(
        "AdminCreateRedEnvelopeRain",
        {
          input: {
            title: "fault rain",
            totalAmount: "88.88",
            currency: "CNY",
            shares: 40,
            startsAt: new Date(Date.now() - 1000).toISOString(),
            endsAt: new Date(Date.now() + 3600_000).toISOString(),
          },
        },
        admin,
      )
    ).adminCreateRedEnvelopeRain as { id: string };
    const pid = e.stack.processes.get("workers")!.pid;
    // member (the wallets) answers nothing for a while: the credits hang with their entries unacknowledged
    freeze("member", true);
    let answers: Answer[];
    let pendingAtKill: number;
    let recordedAtKill: number;
    try {
      const storm = pool(members, 20, async (token) => {
        const mine: Answer[] = [];
        for (let t = 0; t < 3; t++) mine.push(await grabUntilAnswered(url, token, rain.id));
        return mine;
      });
      // grabs read and recorded in PostgreSQL, their credits asked for and hanging
      await waitFor(
        async () => (await count.rainPending(rain.id)) > 0 && (await count.grabs(rain.id)).rows > 0,
        "credits in flight at the workers",
        120_000,
      );
      pendingAtKill = await count.rainPending(rain.id);
      recordedAtKill = (await count.grabs(rain.id)).rows;
      expect(await e.stack.kill("workers", "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
      freeze("member", false); // member now makes the credits the dead worker had asked for: done, unmarked here
      answers = (await storm).flat();
    } finally {
      freeze("member", false);
    }
    console.log(
      `[faults] killed the workers process (pid ${pid}) with SIGKILL mid rain while ${pendingAtKill} grab entries were unacknowledged (their wallet credits hanging; ${recordedAtKill} grabs already in PostgreSQL); restarting it`,
    );
    await e.stack.restart("workers");
    const firstGrabs = answers.filter((a) => a.code === "OK");
    const again = answers.filter((a) => a.code === "ALREADY_GRABBED");
    expect(firstGrabs.length).toBe(40);
    await waitFor(async () => (await count.grabs(rain.id)).credited === 40, "every grab credited", 180_000);
    const grabbed = firstGrabs.reduce((s, a) => s + Math.round(Number(a.amount) * 100), 0);
    const credits = await count.rainCredits(rain.id);
    const grabs = await count.grabs(rain.id);
    const closed = (
      await e.api.raw(
        `mutation($id: ID!) { adminCloseRedEnvelopeRain(id: $id) { status grabbedAmount grabbedCount refundAmount } }`,
        { id: rain.id },
        { token: admin },
      )
    ).data?.adminCloseRedEnvelopeRain as { grabbedAmount: string; grabbedCount: number; refundAmount: string };
    const refund = Math.round(Number(closed.refundAmount) * 100);
    console.log(
      `[faults] rain with the workers killed — counted: ${firstGrabs.length} grabs (${again.length} repeats answered ALREADY_GRABBED), ${grabs.rows} recorded in PostgreSQL, ${credits.entries} wallet credits for ${credits.members} members totalling ${credits.total}; grabbed ${grabbed / 100} + returned ${refund / 100} = ${(grabbed + refund) / 100} of 88.88`,
    );
    expect(grabs.rows).toBe(40);
    expect(credits.entries).toBe(40);
    expect(credits.members).toBe(40);
    expect(Math.round(Number(credits.total) * 100)).toBe(grabbed);
    expect(closed.grabbedCount).toBe(40);
    expect(Math.round(Number(closed.grabbedAmount) * 100)).toBe(grabbed);
    expect(grabbed + refund).toBe(8888);
  }, 400_000);

  it("kill -9 of Redis mid-storm, restarted from its AOF: nothing lost, nothing to rebuild", async () => {
    const item = await seckillItem(40, 2);
    let restarted: Promise<void> | undefined;
    const answers = await seckillStorm(item, members, 4, (n) => {
      if (n === 50 && !restarted)
        restarted = (async () => {
          await redis.kill9();
          await new Promise((r) => setTimeout(r, 1500));
          await redis.start();
        })();
    });
    await restarted;
    console.log(
      `[faults] killed redis-server (port ${redis.port}) with SIGKILL after 50 of ${answers.length} answers, restarted it 1.5 s later from its AOF`,
    );
    const c = await settleAndCount(item, answers, "Redis killed and restarted mid seckill storm");
    expect(c.reservations).toBe(40);
    const rebuilt = await metric(`http://127.0.0.1:${e.stack.env.WORKERS_PORT}/metrics`, "mg_redis_reconcile_total", { kind: "rebuilt" });
    console.log(`[faults] after the Redis restart the workers rebuilt ${rebuilt} item(s) / rain(s) from PostgreSQL (AOF kept everything)`);
    expect(rebuilt).toBe(0);
  }, 400_000);

  it("a subgraph that answers slowly: the gateway times out, its breaker opens and fails fast; the buys made meanwhile answer DUPLICATE once it recovers", async () => {
    const item = await seckillItem(10, 1);
    const gatewayMetrics = `http://127.0.0.1:${e.stack.env.GATEWAY_PORT}/metrics`;
    const promotion = (outcome: string) => metric(gatewayMetrics, "mg_gateway_subgraph_requests_total", { subgraph: "promotion", outcome });
    const [timeoutsBefore, openBefore] = [await promotion("timeout"), await promotion("circuit_open")];
    const buyers = members.slice(0, 5);
    const keys = buyers.map(() => newKey());
    const once = (i: number) =>
      e.api.raw(
        `mutation($s: ID!, $k: ID!, $i: String!) { seckillBuy(sessionId: $s, skuId: $k, quantity: 1, idempotencyKey: $i) { code reservationId } }`,
        { s: item.sessionId, k: item.skuId, i: keys[i] },
        { token: buyers[i] },
      );
    proxy.delayMs = 6000; // the gateway gives up after 3 s
    const reached = proxy.requests;
    const slow = [];
    for (let i = 0; i < 3; i++) slow.push((await once(i)).code);
    const reachedWhileSlow = proxy.requests - reached;
    const fast = [];
    for (let i = 3; i < 5; i++) fast.push((await once(i)).code);
    const reachedWhileOpen = proxy.requests - reached - reachedWhileSlow;
    const state = await metric(gatewayMetrics, "mg_gateway_circuit_state", { subgraph: "promotion" });
    // another subgraph is not affected
    const catalogOk =
      (
        await e.api.run("Product", {
          id: (await e.api.ok("SearchProducts", { query: { keyword: "", first: 1 } })).searchProducts.items[0].spuId,
        })
      ).errors === undefined;
    const timeouts = (await promotion("timeout")) - timeoutsBefore;
    const opened = (await promotion("circuit_open")) - openBefore;
    console.log(
      `[faults] promotion answered 6 s late behind a proxy (gateway time-out 3 s, breaker after 3 failures): 3 buys → ${slow.join(", ")} (${reachedWhileSlow} reached promotion, ${timeouts} gateway time-outs); breaker state ${state}; 2 more buys → ${fast.join(", ")} (${reachedWhileOpen} reached promotion, ${opened} failed fast); catalog answered meanwhile: ${catalogOk}`,
    );
    expect(slow).toEqual(["SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);
    expect(reachedWhileSlow).toBe(3);
    expect(timeouts).toBe(3);
    expect(state).toBe(1);
    expect(fast).toEqual(["SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);
    expect(reachedWhileOpen).toBe(0);
    expect(opened).toBe(2);
    expect(catalogOk).toBe(true);
    // it recovers: after the cool-down one trial closes the breaker; asking again with the same keys
    proxy.delayMs = 0;
    const answers = await Promise.all(
      buyers.map((token, i) => buyUntilAnswered(url, token, { sessionId: item.sessionId, skuId: item.skuId, idempotencyKey: keys[i]! })),
    );
    console.log(`[faults] promotion fast again: the same 5 keys answer ${answers.map((a) => a.code).join(", ")}`);
    expect(answers.slice(0, 3).map((a) => a.code)).toEqual(["DUPLICATE", "DUPLICATE", "DUPLICATE"]); // made while the gateway had given up
    expect(answers.slice(3).map((a) => a.code)).toEqual(["OK", "OK"]);
    expect(await metric(gatewayMetrics, "mg_gateway_circuit_state", { subgraph: "promotion" })).toBe(0);
    const c = await settleAndCount(item, answers, "slow promotion behind the gateway");
    expect(c.reservations).toBe(5);
    expect(c.stockLeft).toBe(5);
  }, 400_000);

  it("SIGTERM of promotion and the workers mid-storm: requests and stream entries in flight are finished, nothing is half-done", async () => {
    const item = await seckillItem(40, 2);
    const promotionUrl = `http://127.0.0.1:${e.stack.env.PROMOTION_PORT}`;
    // members' ids: some buys go straight to promotion (signed as the gateway), so they are surely inside it;
    // the last members (the storm reaches them last: they have not bought yet)
    const direct = await Promise.all(members.slice(-8).map(async (token) => (await e.api.ok("Me", {}, token)).me.id as string));
    const buyDirect = async (memberId: string) => {
      try {
        const res = await fetch(`${promotionUrl}/graphql`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [IDENTITY_HEADER]: signIdentity(e.cfg.INTERNAL_SECRET, { kind: "member", id: memberId }),
          },
          body: JSON.stringify({
            query: `mutation($s: ID!, $k: ID!, $i: String!) { seckillBuy(sessionId: $s, skuId: $k, quantity: 1, idempotencyKey: $i) { code reservationId } }`,
            variables: { s: item.sessionId, k: item.skuId, i: newKey() },
          }),
        });
        const answer = ((await res.json()) as { data?: { seckillBuy?: { code: string; reservationId: string | null } } }).data?.seckillBuy;
        return answer ? { ...answer, attempts: 1, failures: [] } : { code: `HTTP_${res.status}`, attempts: 1, failures: [] };
      } catch {
        return { code: "cut", attempts: 1, failures: [] }; // the connection closed before an answer
      }
    };
    let stopped: Promise<{ exits: Exit[]; directAnswers: Answer[] }> | undefined;
    let pendingAfter = -1;
    let inside = 0;
    const said = { promotion: "", workers: "" };
    const answers = await seckillStorm(item, members, 4, (n) => {
      if (n === 60 && !stopped)
        stopped = (async () => {
          // Redis holds every command: the 8 direct buys stay inside promotion, in flight, while it is told to stop
          redis.pause();
          try {
            // /health reads neither PostgreSQL nor Redis (/metrics does: its queue depths)
            const inFlightNow = async () =>
              ((await (await fetch(`${promotionUrl}/health`, { signal: AbortSignal.timeout(5000) })).json()) as { inFlight: number })
                .inFlight;
            // the storm's requests (the gateway's batches) inside promotion wait on Redis too: once their number has
            // stopped growing, only the direct buys add to it (the CI of 1 December counted 5 of them as direct buys)
            let storm = -1;
            for (let same = 0; same < 3;) {
              await new Promise((r) => setTimeout(r, 100));
              const now = await inFlightNow();
              same = now === storm ? same + 1 : 0;
              storm = now;
            }
            const directAnswers = Promise.all(direct.map(buyDirect));
            inside = await waitFor(async () => {
              const now = await inFlightNow();
              return now - storm >= direct.length ? now : 0;
            }, "the direct buys inside promotion");
            const exiting = Promise.all([e.stack.kill("promotion", "SIGTERM"), e.stack.kill("workers", "SIGTERM")]);
            await new Promise((r) => setTimeout(r, 600));
            redis.resume();
            const exits = await exiting;
            pendingAfter = await count.seckillPending(item.sessionId, item.skuId, item.shards);
            said.promotion = e.stack.output("promotion");
            said.workers = e.stack.output("workers");
            await e.stack.restart("promotion");
            await e.stack.restart("workers");
            return { exits, directAnswers: await directAnswers };
          } finally {
            redis.resume();
          }
        })();
    });
    const { exits, directAnswers } = await stopped!;
    const drained = /"msg":"stopped: (\d+) request\(s\) in flight answered, (\d+) cut"/.exec(said.promotion);
    const consumers = (said.workers.match(/stream consumer stopped: the entries in hand were finished/g) ?? []).length;
    console.log(
      `[faults] SIGTERM to promotion and the workers after 60 of ${answers.length} answers, with Redis paused (SIGSTOP) and ${inside} requests inside promotion: exits ${JSON.stringify(exits)}; promotion answered ${drained?.[1]} request(s) in flight and cut ${drained?.[2]} (the direct buys: ${directAnswers.map((a) => a.code).join(", ")}); ${consumers} stream consumer(s) finished their entries; ${pendingAfter} entries left unacknowledged; both restarted`,
    );
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(inside).toBeGreaterThanOrEqual(direct.length);
    expect(Number(drained?.[1])).toBeGreaterThanOrEqual(direct.length);
    expect(drained?.[2]).toBe("0");
    expect(directAnswers.every((a) => ["OK", "SOLD_OUT", "LIMIT_EXCEEDED"].includes(a.code))).toBe(true);
    expect(consumers).toBeGreaterThanOrEqual(2);
    expect(pendingAfter).toBe(0);
    const c = await settleAndCount(item, [...answers, ...directAnswers], "promotion and workers stopped (SIGTERM) mid seckill storm");
    expect(c.reservations).toBe(40);
  }, 400_000);

  it("Redis came back without an item's keys: the workers' start-up check rebuilds it from PostgreSQL, no oversell", async () => {
    const item = await seckillItem(30, 2);
    const first = await seckillStorm(item, members.slice(0, 20), 1);
    expect(first.filter((a) => a.code === "OK").length).toBe(20);
    await waitFor(async () => (await count.seckillBacklog(item.sessionId, item.skuId, item.shards)) === 0, "the copies caught up", 120_000);
    await e.stack.kill("workers", "SIGKILL");
    const keys = await count.redis.keys(`${e.cfg.REDIS_PREFIX}:promotion:{seckill:${item.sessionId}:${item.skuId}:*`);
    await count.redis.del(...keys);
    // buyers meanwhile are told NOT_ONLINE and ask again; the restarted workers rebuild the item first
    const second = seckillStorm(item, members.slice(20), 1);
    await new Promise((r) => setTimeout(r, 1000));
    await e.stack.restart("workers");
    const answers = [...first, ...(await second)];
    const rebuiltLine =
      /seckill reconciliation: (\d+) item\(s\) rebuilt from PostgreSQL, (\d+) reservation\(s\) copied from Redis first, (\d+) lost/.exec(
        e.stack.output("workers"),
      );
    console.log(
      `[faults] killed the workers (SIGKILL) and deleted the item's ${keys.length} Redis keys after 20 sold; the restarted workers: "${rebuiltLine?.[0]}"`,
    );
    expect(rebuiltLine?.slice(1)).toEqual(["1", "0", "0"]);
    const c = await settleAndCount(item, answers, "item keys lost, rebuilt at the workers' start-up");
    expect(c.reservations).toBe(30);
    expect(c.stockLeft).toBe(0);
  }, 400_000);
});
