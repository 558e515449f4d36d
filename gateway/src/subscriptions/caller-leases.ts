/**
 * The per-caller socket limit over every gateway instance (decision 0033): each authenticated
 * socket takes a lease in its caller's Redis sorted set (src/lua/leaseSocket-sockets.lua, under the
 * caller's own hash tag), its instance renews the leases of its open sockets every third of the lease,
 * and a closed socket gives its lease back. A caller therefore holds at most `connectionsPerCaller`
 * sockets whichever instances the load balancer sent them to; the sockets of an instance that died
 * count until their leases lapse (`leaseMs`, 30 s by default).
 */
import { randomUUID } from "node:crypto";
import { instanceId } from "@mallgraph/platform/instance";
import type { Logger } from "@mallgraph/platform/log";
import { defineLua, entityKeyFor, type Redis } from "@mallgraph/platform/redis";

type Mode = "TAKE" | "RENEW" | "GIVE";

export function callerSocketsKey(prefix: string, caller: string): string {
  return entityKeyFor(prefix, "gateway", "ws", caller)();
}

export class CallerLeases {
  private readonly lease: (key: string, mode: Mode, socket: string, leaseMs: number, limit: number) => Promise<number>;
  /** The leases this instance holds: socket → caller. */
  private readonly held = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly instance: string;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly limit: number,
    private readonly log: Logger,
    private readonly leaseMs = 30_000,
  ) {
    this.instance = instanceId();
    this.lease = defineLua(redis, "mgGatewayLeaseSocket", new URL("../lua/leaseSocket-sockets.lua", import.meta.url), 1);
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /** Takes a socket's lease for `caller`: its id, or undefined when the caller holds `limit` sockets already. */
  async take(caller: string): Promise<string | undefined> {
    const socket = `${this.instance}:${randomUUID()}`;
    const ok = await this.lease(callerSocketsKey(this.prefix, caller), "TAKE", socket, this.leaseMs, this.limit);
    if (Number(ok) !== 1) return undefined;
    this.held.set(socket, caller);
    return socket;
  }

  /** Gives a closed socket's lease back (a failure only leaves it to lapse). */
  async give(socket: string): Promise<void> {
    const caller = this.held.get(socket);
    if (caller === undefined) return;
    this.held.delete(socket);
    await this.lease(callerSocketsKey(this.prefix, caller), "GIVE", socket, this.leaseMs, this.limit).catch((e: unknown) =>
      this.log.warn({ err: e, caller }, "could not give a socket lease back (it lapses on its own)"),
    );
  }

  private async renew(): Promise<void> {
    await Promise.all(
      [...this.held].map(([socket, caller]) =>
        this.lease(callerSocketsKey(this.prefix, caller), "RENEW", socket, this.leaseMs, this.limit).catch((e: unknown) =>
          this.log.warn({ err: e, caller }, "could not renew a socket lease"),
        ),
      ),
    );
  }

  /** Stops renewing and gives every lease of this instance back. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.held.keys()].map((s) => this.give(s)));
  }
}
