/**
 * A task run every `everyMs` after the previous run finished (never two at once; the first after
 * `firstInMs`), outside BullMQ: for checks that must keep running when Redis lost its job schedulers
 * (decision 0032). `stop` waits for a run in hand (graceful shutdown).
 */
export function periodic(
  everyMs: number,
  task: () => Promise<unknown>,
  onError: (e: unknown) => void,
  firstInMs = everyMs,
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const run = () => {
    running = task()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(run, everyMs);
      });
  };
  timer = setTimeout(run, firstInMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

/** Wraps `fn` so it runs at most once per `everyMs` (the first call runs it): pruning inside a frequent loop. */
export function atMostEvery(everyMs: number, fn: () => Promise<unknown>): () => Promise<void> {
  let last = 0;
  return async () => {
    if (Date.now() - last <= everyMs) return;
    last = Date.now();
    await fn();
  };
}
