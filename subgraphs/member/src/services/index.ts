import type { PrismaClient } from "../generated/prisma/client.ts";

export interface MemberServices {
  prisma: PrismaClient;
}
