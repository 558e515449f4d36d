/**
 * A small GraphQL client for the end-to-end tests: HTTP (fetch) with the contract's operation
 * documents taken from the trusted manifest, and graphql-ws for subscriptions.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createClient, type Client } from "graphql-ws";
import { WebSocket } from "ws";

const root = path.resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(path.join(root, "schema/operations/manifest.json"), "utf8")) as {
  operations: Array<{ id: string; name: string; body: string }>;
};

export function operation(name: string): { id: string; body: string } {
  const op = manifest.operations.find((o) => o.name === name);
  if (!op) throw new Error(`operation ${name} is not in schema/operations/manifest.json`);
  return op;
}

export interface Result<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, any> }>;
  code?: string;
}

export class GraphQLHttpClient {
  constructor(
    readonly url: string,
    readonly clientName = "e2e",
  ) {}

  async raw<T = any>(
    query: string | undefined,
    variables?: Record<string, unknown>,
    opts: { token?: string; extensions?: Record<string, unknown>; clientName?: string; headers?: Record<string, string> } = {},
  ): Promise<Result<T>> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "apollographql-client-name": opts.clientName ?? this.clientName,
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      body: JSON.stringify({ query, variables, extensions: opts.extensions }),
    });
    const body = (await res.json()) as { data?: T; errors?: Result["errors"] };
    return { status: res.status, ...body, code: body.errors?.[0]?.extensions?.code };
  }

  /** Runs a contract operation by name. */
  run<T = any>(name: string, variables?: Record<string, unknown>, token?: string): Promise<Result<T>> {
    return this.raw<T>(operation(name).body, variables, { token });
  }

  /** Runs a contract operation by name and fails on errors. */
  async ok<T = any>(name: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
    const r = await this.run<T>(name, variables, token);
    if (r.errors?.length || !r.data) throw new Error(`${name} failed (${r.status}): ${JSON.stringify(r.errors)}`);
    return r.data;
  }
}

export function wsClient(url: string, token?: string): Client {
  return createClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
}
