/**
 * Prometheus metrics of one gateway instance (its own registry, so several gateways can live in one
 * test process). Served at GET /metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { TallyCounter, TallyHistogram } from "./tally.ts";

const MAX_OPERATION_NAMES = 500;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly names = new Set<string>();
  // the per-request ones: plain tallies (src/tally.ts), no label hashing per observation
  readonly requests = new TallyCounter("mg_gateway_requests_total", "GraphQL requests by operation and outcome", this.registry);
  readonly requestDuration = new TallyHistogram(
    "mg_gateway_request_duration_seconds",
    "GraphQL request duration by operation",
    this.registry,
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly errors = new Counter({
    name: "mg_gateway_errors_total",
    help: "Errors sent to clients, by extensions.code",
    labelNames: ["code"],
    registers: [this.registry],
  });
  readonly subgraphRequests = new TallyCounter(
    "mg_gateway_subgraph_requests_total",
    "Requests to subgraphs by outcome (ok, http_error, network_error, timeout, circuit_open)",
    this.registry,
  );
  readonly subgraphDuration = new TallyHistogram(
    "mg_gateway_subgraph_request_duration_seconds",
    "Subgraph request duration",
    this.registry,
    [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
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
  readonly singleFetch = new TallyCounter(
    "mg_gateway_single_fetch_total",
    "Single-fetch operations sent straight to their subgraph: forwarded as answered, or replayed through the pipeline (errors)",
    this.registry,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "mg_gateway_" });
  }

  /** The per-request observations (a request, a subgraph call, a forwarded or replayed operation). */
  requestDone(operation: string, transport: string, outcome: string, seconds: number): void {
    this.requests.inc(`${operation}|${transport}|${outcome}`, { operation, transport, outcome });
    this.requestDuration.observe(operation, { operation }, seconds);
  }

  subgraphCallDone(subgraph: string, outcome: string, seconds: number): void {
    this.subgraphRequests.inc(`${subgraph}|${outcome}`, { subgraph, outcome });
    this.subgraphDuration.observe(subgraph, { subgraph }, seconds);
  }

  singleFetchDone(outcome: "forwarded" | "replayed" | "cached"): void {
    this.singleFetch.inc(outcome, { outcome });
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
