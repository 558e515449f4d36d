/**
 * Global set-up of the vitest project `redis-cluster` (vitest.config.ts): starts a local three-master
 * Redis Cluster for the Redis-heavy suites and stops it after them (decision 0033).
 * REDIS_CLUSTER_NODES set from outside: that cluster is used and nothing is started.
 */
import type { TestProject } from "vitest/node";
import { startRedisCluster } from "@mallgraph/platform/testing-redis-cluster";

declare module "vitest" {
  export interface ProvidedContext {
    redisClusterNodes: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.REDIS_CLUSTER_NODES;
  if (given) {
    project.provide("redisClusterNodes", given);
    return undefined;
  }
  const cluster = await startRedisCluster({ masters: 3 });
  project.provide("redisClusterNodes", cluster.nodes);
  return cluster.stop;
}
