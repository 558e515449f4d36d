/**
 * The member messages lottery changes cause (red envelope received, prize delivered): written into
 * the lottery outbox in the change's transaction, relayed to member's inbox worker.
 */
import { writeOutbox, memberMessage } from "@mallgraph/platform/outbox";
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Prisma.TransactionClient;

export function redEnvelopeReceivedMessage(
  tx: Tx,
  g: { rainId: string; memberId: string; amount: string; currency: string },
): Promise<void> {
  return writeOutbox(tx, [memberMessage(`red-envelope.${g.rainId}.${g.memberId}`, g.memberId, "RED_ENVELOPE_RECEIVED", g)]);
}

export function prizeDeliveredMessage(tx: Tx, o: { orderId: string; memberId: string; award: string; kind: string }): Promise<void> {
  return writeOutbox(tx, [memberMessage(`prize.${o.orderId}`, o.memberId, "PRIZE_DELIVERED", o)]);
}
