/**
 * scripts/services.ts checks every server the configuration names (issue 14): each PostgreSQL server
 * of DATABASE_URL and the `<DOMAIN>_DATABASE_URL` overrides (one line a server, naming the settings
 * that use it), and each node of a Redis Cluster, which must also serve every slot.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../packages/platform/src/config.ts";
import { TEST_PG_URL } from "../../packages/platform/src/testing.ts";
import { unreachable } from "../../scripts/services.ts";
import { freePort } from "../../scripts/stack.ts";

const config = (env: Record<string, string>) => loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", ...env } as unknown as NodeJS.ProcessEnv);

describe("npm start's service check", () => {
  it("follows <DOMAIN>_DATABASE_URL: a domain's own server that does not answer is named with the settings using it", async () => {
    expect(await unreachable(config({ DATABASE_URL: TEST_PG_URL, ORDER_DATABASE_URL: TEST_PG_URL }))).toEqual([]);
    const dead = await freePort();
    const elsewhere = `postgresql://postgres@127.0.0.1:${dead}/orders`;
    const problems = await unreachable(config({ DATABASE_URL: TEST_PG_URL, ORDER_DATABASE_URL: elsewhere, CATALOG_DATABASE_URL: elsewhere }));
    expect(problems).toEqual([`PostgreSQL is not reachable at 127.0.0.1:${dead} (ECONNREFUSED), used by CATALOG_DATABASE_URL, ORDER_DATABASE_URL.`]);
  });

  it("checks each node of REDIS_CLUSTER_NODES, and that a node serves the cluster's slots", async () => {
    const dead = await freePort();
    const problems = await unreachable(config({ DATABASE_URL: TEST_PG_URL, REDIS_CLUSTER_NODES: `127.0.0.1:6379,127.0.0.1:${dead}` }));
    expect(problems).toHaveLength(2);
    // the test Redis on 6379 answers, but is no cluster node
    expect(problems[0]).toMatch(/^Redis Cluster node 127\.0\.0\.1:6379 does not serve every slot/);
    expect(problems[1]).toBe(`Redis Cluster node is not reachable at 127.0.0.1:${dead} (ECONNREFUSED).`);
  });
});
