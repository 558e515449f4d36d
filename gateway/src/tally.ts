/**
 * Per-request counters and histograms kept as plain numbers per label set (decision 0037): an
 * observation is a map lookup by a key the caller already has and a few additions — prom-client's
 * own metrics hash and validate the label object on every call, label children included. The
 * figures are put into prom-client's shape only when the registry is read (GET /metrics), with the
 * same names, types, labels and buckets as before.
 */
import type { Registry } from "prom-client";

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

abstract class Tally<C> {
  protected readonly children = new Map<string, C>();
  readonly aggregator = "sum";
  abstract readonly type: string;

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract values(): Value[];

  /** What prom-client's registry reads (its Metric.get() shape). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  reset(): void {
    this.children.clear();
  }
}

export class TallyCounter extends Tally<{ labels: Labels; value: number }> {
  readonly type = "counter";

  /** Counts one for the label set named by `key` (`labels` is only kept the first time the key is seen). */
  inc(key: string, labels: Labels): void {
    const c = this.children.get(key);
    if (c) c.value++;
    else this.children.set(key, { labels, value: 1 });
  }

  protected values(): Value[] {
    return [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value }));
  }
}

export class TallyHistogram extends Tally<{ labels: Labels; counts: number[]; sum: number; count: number }> {
  readonly type = "histogram";

  constructor(
    name: string,
    help: string,
    registry: Registry,
    readonly buckets: readonly number[],
  ) {
    super(name, help, registry);
  }

  observe(key: string, labels: Labels, value: number): void {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) c.counts[i] = (c.counts[i] ?? 0) + 1;
    c.sum += value;
    c.count++;
  }

  protected values(): Value[] {
    const out: Value[] = [];
    for (const c of this.children.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += c.counts[i] ?? 0;
        out.push({ labels: { le: String(le), ...c.labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      out.push({ labels: { le: "+Inf", ...c.labels }, value: c.count, metricName: `${this.name}_bucket` });
      out.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      out.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}
