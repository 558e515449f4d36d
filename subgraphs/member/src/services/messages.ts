/** The message center: stored messages, read by operators (sentMessages). */
import { badInput } from "../errors.ts";
import type { PrismaClient, Message } from "../generated/prisma/client.ts";

export function createMessageService(prisma: PrismaClient) {
  return {
    async sent(recipient: string, first = 10): Promise<Message[]> {
      if (typeof recipient !== "string" || !recipient || recipient.length > 200)
        throw badInput("recipient is required", { field: "recipient" });
      const take = Math.min(Math.max(first ?? 10, 1), 100);
      return prisma.message.findMany({ where: { recipient }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take });
    },
  };
}
export type MessageService = ReturnType<typeof createMessageService>;
