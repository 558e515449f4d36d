/**
 * A circuit breaker per subgraph. Closed: requests flow; after `failureThreshold` consecutive
 * failures (network error, time-out, HTTP 5xx) it opens and every request fails fast with
 * SERVICE_UNAVAILABLE for `cooldownMs`; then it is half-open: one trial request goes through —
 * success closes it, failure opens it again for another cool-down.
 */
export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  onStateChange?: (state: CircuitState) => void;
}

export class CircuitOpenError extends Error {
  constructor(readonly subgraph: string) {
    super(`subgraph ${subgraph} is unavailable (circuit open)`);
  }
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private current: CircuitState = "closed";
  readonly failureThreshold: number;
  readonly cooldownMs: number;

  constructor(
    readonly name: string,
    private readonly opts: CircuitOptions = {},
  ) {
    this.failureThreshold = opts.failureThreshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 10_000;
  }

  get state(): CircuitState {
    if (this.current === "open" && Date.now() - this.openedAt >= this.cooldownMs) this.set("half-open");
    return this.current;
  }

  private set(s: CircuitState) {
    if (s === this.current) return;
    this.current = s;
    this.opts.onStateChange?.(s);
  }

  /** Runs `fn` unless the circuit is open; `isFailure` decides whether a result counts as a failure. */
  async run<T>(fn: () => Promise<T>, isFailure: (r: T) => boolean = () => false): Promise<T> {
    const state = this.state;
    let trial = false;
    if (state === "open") throw new CircuitOpenError(this.name);
    if (state === "half-open") {
      if (this.trialInFlight) throw new CircuitOpenError(this.name);
      this.trialInFlight = true;
      trial = true;
    }
    try {
      const r = await fn();
      if (isFailure(r)) this.failure();
      else this.success();
      return r;
    } catch (e) {
      this.failure();
      throw e;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  private success() {
    this.failures = 0;
    this.set("closed");
  }

  private failure() {
    this.failures++;
    if (this.current === "half-open" || this.failures >= this.failureThreshold) {
      this.openedAt = Date.now();
      this.set("open");
    }
  }
}
