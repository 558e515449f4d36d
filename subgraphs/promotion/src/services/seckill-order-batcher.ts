/**
 * Seckill orders in batches: the create-order jobs running at the same time in one worker process
 * (BullMQ concurrency) hand their reservation here; whatever arrives within `windowMs` (or `max`
 * of them) goes to order in ONE call, made there in one transaction (orderCreateSeckillBatch).
 * Each job still gets its own answer and settles its own reservation, so a crash anywhere leaves
 * each job to be retried, and order's idempotency per reservationId keeps it one order each.
 * A failed call fails every job of the batch (they retry).
 */
import type { OrderPort, SeckillOrderInput, SeckillOrderResult } from "./ports.ts";

export class SeckillOrderBatcher {
  private queue: Array<{ r: SeckillOrderInput; resolve: (a: SeckillOrderResult) => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly order: OrderPort,
    /** windowMs default 5; max default 200, the most order takes in one call (a whole stream read of the consumer) */
    private readonly opts: { windowMs?: number; max?: number } = {},
  ) {}

  create(r: SeckillOrderInput): Promise<SeckillOrderResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, resolve, reject });
      if (this.queue.length >= (this.opts.max ?? 200)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs ?? 5);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    const [only] = batch;
    const call =
      batch.length === 1 && only ? this.order.createSeckill(only.r).then((a) => [a]) : this.order.createSeckillBatch(batch.map((b) => b.r));
    call.then(
      (answers) =>
        batch.forEach((b, i) => {
          const a = answers[i];
          if (a) b.resolve(a);
          else b.reject(new Error("orderCreateSeckillBatch answered fewer orders than asked"));
        }),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  }
}
