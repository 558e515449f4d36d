/**
 * How many requests a gateway's response cache answered, from the gateway's own /metrics: the
 * gateway counts no cache hits itself, but a hit calls no subgraph, so the subgraph calls
 * (`mg_gateway_subgraph_requests_total`) made during a run, divided by the calls one miss makes,
 * are the misses. The calls per miss are measured, not assumed: one request that cannot be in the
 * cache yet, then the same again, which must call nothing (else the cache does not hold it at all).
 */
import type { RequestSpec } from "./load.ts";

/** Sums the samples of one counter (every label set) in a Prometheus text page. */
function sum(page: string, name: string): number {
  let total = 0;
  for (const line of page.split("\n")) if (line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  return total;
}

/** The GraphQL requests the gateway at `graphqlUrl` has answered and the subgraph calls it has made so far (one scrape). */
export async function gatewayCounters(graphqlUrl: string): Promise<{ requests: number; calls: number }> {
  const res = await fetch(new URL("/metrics", graphqlUrl));
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const page = await res.text();
  return { requests: sum(page, "mg_gateway_requests_total"), calls: sum(page, "mg_gateway_subgraph_requests_total") };
}

/** Every subgraph call the gateway at `graphqlUrl` has made so far (all subgraphs and outcomes). */
export async function subgraphCalls(graphqlUrl: string): Promise<number> {
  return (await gatewayCounters(graphqlUrl)).calls;
}

async function send(url: string, spec: RequestSpec): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...spec.headers },
    body: JSON.stringify(spec.body),
  });
  const json = (await res.json()) as { errors?: Array<{ message: string }> };
  // answers with errors are never cached: the probe would measure nothing
  if (json.errors?.length) throw new Error(`cache probe: ${json.errors[0]!.message}`);
}

/**
 * Subgraph calls per cache miss: `spec` sent twice in a row; the first must call subgraphs, the
 * second none. Call it with a request the cache has not seen (before any load).
 */
export async function callsPerMiss(url: string, spec: RequestSpec): Promise<number> {
  const before = await subgraphCalls(url);
  await send(url, spec);
  const miss = await subgraphCalls(url);
  await send(url, spec);
  const again = await subgraphCalls(url);
  if (miss === before) throw new Error("cache probe: the first request called no subgraph (was it cached already?)");
  if (again !== miss)
    throw new Error(`cache probe: the same request again made ${again - miss} subgraph call(s): the response cache did not answer it`);
  return miss - before;
}

/**
 * The share of the requests the cache answered between two scrapes: both counters come from the
 * same scrape, so requests still in flight at either end (autocannon's 50) skew it little.
 */
export function hitRatio(before: { requests: number; calls: number }, after: { requests: number; calls: number }, perMiss: number): number {
  const requests = after.requests - before.requests;
  if (!requests) return 0;
  return Math.min(1, Math.max(0, 1 - (after.calls - before.calls) / perMiss / requests));
}

/**
 * What the hit ratio should be in steady state: `keys` answers requested round robin at `rps`, each
 * living `maxAgeSeconds`, miss about once per life each — 1 − keys / (maxAge × rps), at least 0.
 */
export function expectedHitRatio(keys: number, maxAgeSeconds: number, rps: number): number {
  return rps > 0 ? Math.max(0, 1 - keys / (maxAgeSeconds * rps)) : 0;
}
