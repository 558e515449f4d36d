/**
 * Redis connection strings: a plain `redis://` URL, or the cluster form
 * `redis-cluster://[user:password@]host:port,host:port,…` made of REDIS_CLUSTER_NODES (decision 0033);
 * `rediss-cluster://…` connects to every node over TLS (when REDIS_URL is a `rediss://` URL).
 * No dependencies, so config.ts can resolve REDIS_URL with it.
 */
const CLUSTER = /^(rediss?)-cluster:\/\//;

/**
 * The connection string of a cluster: `redis-cluster://[auth@]host:port,…`; credentials and TLS
 * (`rediss://`) are taken from `credentialsFrom`, the REDIS_URL.
 */
export function redisClusterUrl(nodes: string, credentialsFrom?: string): string {
  const list = parseNodeList(nodes);
  if (!list.length) throw new Error("REDIS_CLUSTER_NODES names no host:port");
  let auth = "";
  const from = credentialsFrom ? (parseRedisClusterUrl(credentialsFrom) ?? new URL(credentialsFrom)) : undefined;
  if (from?.username || from?.password) auth = `${from.username ?? ""}${from.password ? `:${from.password}` : ""}@`;
  const tls = from instanceof URL ? from.protocol === "rediss:" : !!from?.tls;
  return `${tls ? "rediss" : "redis"}-cluster://${auth}${list.map((n) => `${n.host}:${n.port}`).join(",")}`;
}

function parseNodeList(nodes: string): Array<{ host: string; port: number }> {
  return nodes
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(.+):(\d{1,5})$/.exec(s);
      if (!m) throw new Error(`not a host:port: ${s}`);
      return { host: m[1] ?? "", port: Number(m[2]) };
    });
}

export interface RedisClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

/** The nodes, credentials and TLS of a cluster connection string, or null for a plain redis:// URL. */
export function parseRedisClusterUrl(url: string): RedisClusterTarget | null {
  const scheme = CLUSTER.exec(url);
  if (!scheme) return null;
  const rest = url.slice(scheme[0].length).replace(/\/.*$/, "");
  const at = rest.lastIndexOf("@");
  const [user, password] = at >= 0 ? rest.slice(0, at).split(":").map(decodeURIComponent) : [];
  return {
    nodes: parseNodeList(at >= 0 ? rest.slice(at + 1) : rest),
    username: user || undefined,
    password: password || undefined,
    tls: scheme[1] === "rediss",
  };
}
