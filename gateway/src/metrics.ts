/**
 * Prometheus metrics of one gateway instance (its own registry, so several gateways can live in one
 * test process). Served at GET /metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

const MAX_OPERATION_NAMES = 500;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly names = new Set<string>();
  readonly requests = new Counter({
    name: "mg_gateway_requests_total",
    help: "GraphQL requests by operation and outcome",
    labelNames: ["operation", "transport", "outcome"],
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: "mg_gateway_request_duration_seconds",
    help: "GraphQL request duration by operation",
    labelNames: ["operation"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "mg_gateway_errors_total",
    help: "Errors sent to clients, by extensions.code",
    labelNames: ["code"],
    registers: [this.registry],
  });
  readonly subgraphRequests = new Counter({
    name: "mg_gateway_subgraph_requests_total",
    help: "Requests to subgraphs by outcome (ok, http_error, network_error, timeout, circuit_open)",
    labelNames: ["subgraph", "outcome"],
    registers: [this.registry],
  });
  readonly subgraphDuration = new Histogram({
    name: "mg_gateway_subgraph_request_duration_seconds",
    help: "Subgraph request duration",
    labelNames: ["subgraph"],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly circuitState = new Gauge({
    name: "mg_gateway_circuit_state",
    help: "Circuit breaker per subgraph: 0 closed, 1 open, 2 half-open",
    labelNames: ["subgraph"],
    registers: [this.registry],
  });
  readonly subscriptions = new Gauge({
    name: "mg_gateway_subscriptions_active",
    help: "Open subscriptions by field",
    labelNames: ["field"],
    registers: [this.registry],
  });
  readonly subscriptionEvents = new Counter({
    name: "mg_gateway_subscription_events_total",
    help: "Live events per field and outcome (pushed, filtered, dropped, failed)",
    labelNames: ["field", "outcome"],
    registers: [this.registry],
  });
  readonly wsConnections = new Gauge({
    name: "mg_gateway_ws_connections",
    help: "Open graphql-ws sockets (handshake finished or not)",
    registers: [this.registry],
  });
  readonly wsRefused = new Counter({
    name: "mg_gateway_ws_refused_total",
    help: "graphql-ws sockets and subscriptions refused by a limit (connections, caller, ip, subscriptions, signed-in, handshake)",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly singleFetch = new Counter({
    name: "mg_gateway_single_fetch_total",
    help: "Single-fetch operations sent straight to their subgraph: forwarded as answered, or replayed through the pipeline (errors)",
    labelNames: ["outcome"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "mg_gateway_" });
  }

  private readonly children = new Map<string, { inc(): void } | { observe(v: number): void }>();

  /**
   * The per-request observations, through label children kept by their label values (prom-client
   * hashes the label object on every call otherwise; these run for every request and subgraph call).
   */
  requestDone(operation: string, transport: string, outcome: string, seconds: number): void {
    this.counter(this.requests, `r|${operation}|${transport}|${outcome}`, { operation, transport, outcome }).inc();
    this.histogram(this.requestDuration, `d|${operation}`, { operation }).observe(seconds);
  }

  subgraphCallDone(subgraph: string, outcome: string, seconds: number): void {
    this.counter(this.subgraphRequests, `s|${subgraph}|${outcome}`, { subgraph, outcome }).inc();
    this.histogram(this.subgraphDuration, `sd|${subgraph}`, { subgraph }).observe(seconds);
  }

  private counter(c: Counter, key: string, labels: Record<string, string>): { inc(): void } {
    let child = this.children.get(key) as { inc(): void } | undefined;
    if (!child) this.children.set(key, (child = c.labels(labels)));
    return child;
  }

  private histogram(h: Histogram, key: string, labels: Record<string, string>): { observe(v: number): void } {
    let child = this.children.get(key) as { observe(v: number): void } | undefined;
    if (!child) this.children.set(key, (child = h.labels(labels)));
    return child;
  }

  /** Operation names are client-chosen: keep the label set bounded. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    const n = name.slice(0, 64);
    if (this.names.has(n)) return n;
    if (this.names.size >= MAX_OPERATION_NAMES) return "other";
    this.names.add(n);
    return n;
  }
}
