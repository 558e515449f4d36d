/** Shelving: DRAFT → ON_SHELF ⇄ OFF_SHELF, under the SPU's row lock; the search document and the live version follow. */
import { defined } from "@mallgraph/platform/errors";
import { Reason, invalidState, notFound } from "../errors.ts";
import type { SpuStatus } from "../generated/prisma/client.ts";
import { touchSearch, type Deps } from "./deps.ts";
import { productTx } from "./product-edits.ts";
import type { ProductReads } from "./product-reads.ts";
import type { ProductView } from "./product-views.ts";

export class ProductShelf {
  constructor(
    private readonly d: Deps,
    private readonly reads: ProductReads,
  ) {}

  async putOnShelf(id: string): Promise<ProductView> {
    await productTx(this.d, async (tx) => {
      const rows = await tx.$queryRaw<
        Array<{ status: SpuStatus }>
      >`SELECT "status"::text AS status FROM "Spu" WHERE "id" = ${id} FOR UPDATE`;
      if (!rows.length) throw notFound("product", id);
      if (rows[0]?.status === "ON_SHELF") return;
      if (!(await tx.sku.count({ where: { spuId: id } })))
        throw invalidState(Reason.PRODUCT_HAS_NO_SKU, "a product without SKUs cannot go on shelf");
      await tx.spu.update({ where: { id }, data: { status: "ON_SHELF", onShelfAt: new Date() } });
      await touchSearch(tx, [id]);
      await this.reads.live.bump([id]);
    });
    await this.reads.live.bumpAfterCommit([id]);
    return defined((await this.reads.loadProducts([id]))[0], `product ${id}`);
  }

  async takeOffShelf(id: string): Promise<ProductView> {
    await productTx(this.d, async (tx) => {
      const rows = await tx.$queryRaw<
        Array<{ status: SpuStatus }>
      >`SELECT "status"::text AS status FROM "Spu" WHERE "id" = ${id} FOR UPDATE`;
      if (!rows.length) throw notFound("product", id);
      const status = defined(rows[0], `product ${id}`).status;
      if (status === "OFF_SHELF") return;
      if (status !== "ON_SHELF") throw invalidState(Reason.INVALID_TRANSITION, `a ${status} product cannot be taken off shelf`);
      await tx.spu.update({ where: { id }, data: { status: "OFF_SHELF" } });
      await touchSearch(tx, [id]);
      await this.reads.live.bump([id]);
    });
    await this.reads.live.bumpAfterCommit([id]);
    return defined((await this.reads.loadProducts([id]))[0], `product ${id}`);
  }
}
