/**
 * The coupon templates that COUPON awards grant (Award.reference = promotion's template id) in
 * activities still live — not CLOSED and not over. Promotion asks before an operator deactivates a
 * template (internal `lotteryCouponTemplatesInUse`): such a template stays active (TEMPLATE_IN_USE),
 * or the award could no longer be delivered.
 */
import { badInput } from "@mallgraph/platform/errors";
import type { PrismaClient } from "../generated/prisma/client.ts";

export async function couponTemplatesInUse(prisma: PrismaClient, templateIds: readonly string[], now = new Date()): Promise<string[]> {
  if (templateIds.length > 200) throw badInput("at most 200 template ids", { field: "templateIds" });
  if (!templateIds.length) return [];
  const rows = await prisma.award.findMany({
    where: {
      kind: "COUPON",
      reference: { in: [...new Set(templateIds)] },
      strategy: { activities: { some: { state: { not: "CLOSED" }, endsAt: { gt: now } } } },
    },
    select: { reference: true },
  });
  return [...new Set(rows.flatMap((r) => (r.reference ? [r.reference] : [])))].sort();
}
