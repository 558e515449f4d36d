/**
 * Set-up file of the vitest project `redis-cluster`: points the suite at the cluster the global
 * set-up started, before the suite's modules load (TEST_REDIS_URL of the platform's test helpers,
 * and every config the suite loads, then connect to it).
 */
import { inject } from "vitest";

process.env.REDIS_CLUSTER_NODES = inject("redisClusterNodes");
