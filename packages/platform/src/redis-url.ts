/**
 * Redis connection strings: a plain `redis://` URL, or the cluster form
 * `redis-cluster://[user:password@]host:port,host:port,…` made of REDIS_CLUSTER_NODES (decision 0033).
 * No dependencies, so config.ts can resolve REDIS_URL with it.
 */
const CLUSTER_SCHEME = "redis-cluster:";

/** The connection string of a cluster: `redis-cluster://[auth@]host:port,…` (auth taken from `credentialsFrom`, a redis:// URL). */
export function redisClusterUrl(nodes: string, credentialsFrom?: string): string {
  const list = parseNodeList(nodes);
  if (!list.length) throw new Error("REDIS_CLUSTER_NODES names no host:port");
  let auth = "";
  const from = credentialsFrom ? (parseRedisClusterUrl(credentialsFrom) ?? new URL(credentialsFrom)) : undefined;
  if (from?.username || from?.password) auth = `${from.username ?? ""}${from.password ? `:${from.password}` : ""}@`;
  return `redis-cluster://${auth}${list.map((n) => `${n.host}:${n.port}`).join(",")}`;
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

/** The nodes and credentials of a cluster connection string, or null for a plain redis:// URL. */
export function parseRedisClusterUrl(
  url: string,
): { nodes: Array<{ host: string; port: number }>; username?: string; password?: string } | null {
  if (!url.startsWith(`${CLUSTER_SCHEME}//`)) return null;
  const rest = url.slice(CLUSTER_SCHEME.length + 2).replace(/\/.*$/, "");
  const at = rest.lastIndexOf("@");
  const [user, password] = at >= 0 ? rest.slice(0, at).split(":").map(decodeURIComponent) : [];
  return { nodes: parseNodeList(at >= 0 ? rest.slice(at + 1) : rest), username: user || undefined, password: password || undefined };
}
