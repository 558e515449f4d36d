/**
 * The client's address for rate limits and logs. `X-Forwarded-For` is believed only when the
 * request comes from a configured proxy (TRUSTED_PROXIES: addresses or CIDR ranges); then the
 * client is the right-most address of the header that is not itself a trusted proxy (each proxy
 * appends the address it saw, so entries left of it are whatever the client chose to send).
 * Without trusted proxies the header is ignored: the socket's address is the client.
 */
import type http from "node:http";
import { BlockList, isIP } from "node:net";

export type ClientIp = (req: http.IncomingMessage) => string;

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 ranges match over dual-stack sockets. */
function plain(address: string): string {
  const a = address.trim();
  return a.toLowerCase().startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** Parses TRUSTED_PROXIES (comma-separated `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`); throws naming a bad entry. */
export function parseTrustedProxies(value: string | undefined): BlockList {
  const list = new BlockList();
  for (const raw of (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr = "", bits, extra] = raw.split("/");
    const family = isIP(addr);
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      !family ||
      extra !== undefined ||
      (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)))
    ) {
      throw new Error(`TRUSTED_PROXIES: "${raw}" is not an IP address or CIDR range`);
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, prefix, type);
  }
  return list;
}

export function clientIp(trusted: BlockList): ClientIp {
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 4 ? "ipv4" : "ipv6");
  };
  // a keep-alive connection keeps its peer: its address and whether it is a trusted proxy are worked out once
  const peers = new WeakMap<object, { address: string; trusted: boolean }>();
  return (req) => {
    let peer = req.socket ? peers.get(req.socket) : undefined;
    if (!peer) {
      const address = plain(req.socket?.remoteAddress ?? "unknown");
      peer = { address, trusted: isTrusted(address) };
      if (req.socket?.remoteAddress) peers.set(req.socket, peer);
    }
    const socket = peer.address;
    if (!peer.trusted) return socket;
    const header = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map(plain).filter(Boolean);
    for (const hop of [...hops].reverse()) {
      if (!isIP(hop)) return socket; // garbage where an address should be: believe nothing further left
      if (!isTrusted(hop)) return hop;
    }
    return hops[0] ?? socket;
  };
}
