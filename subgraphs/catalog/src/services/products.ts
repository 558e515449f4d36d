/**
 * SPUs and SKUs, one use case per file behind this one service (its surface is unchanged):
 * - product-reads.ts: the batched loads behind product detail and the entities, SKU snapshots;
 * - product-edits.ts: creation with validation (category leaf, attribute kinds, exact prices), changes, new SKUs;
 * - product-shelf.ts: shelving (DRAFT → ON_SHELF ⇄ OFF_SHELF);
 * - product-views.ts: the views and the pure mapping from Prisma rows.
 * Every change that affects a search document writes a search-outbox row in the same transaction.
 */
import type { CategoryService } from "./categories.ts";
import type { Deps } from "./deps.ts";
import { ProductEditor, type ProductInput, type ProductUpdate, type SkuInput, type SkuUpdate } from "./product-edits.ts";
import { ProductReads } from "./product-reads.ts";
import { ProductShelf } from "./product-shelf.ts";
import type { ProductView, SkuView } from "./product-views.ts";

export type { ProductInput, ProductUpdate, SkuInput, SkuUpdate } from "./product-edits.ts";
export * from "./product-views.ts";

export class ProductService extends ProductReads {
  private readonly editor: ProductEditor;
  private readonly shelf: ProductShelf;

  constructor(d: Deps, categories: CategoryService) {
    super(d, categories);
    this.editor = new ProductEditor(d, categories, this);
    this.shelf = new ProductShelf(d, this);
  }

  create(input: ProductInput): Promise<ProductView> {
    return this.editor.create(input);
  }

  update(id: string, input: ProductUpdate): Promise<ProductView> {
    return this.editor.update(id, input);
  }

  addSku(spuId: string, input: SkuInput): Promise<SkuView> {
    return this.editor.addSku(spuId, input);
  }

  updateSku(id: string, input: SkuUpdate): Promise<SkuView> {
    return this.editor.updateSku(id, input);
  }

  putOnShelf(id: string): Promise<ProductView> {
    return this.shelf.putOnShelf(id);
  }

  takeOffShelf(id: string): Promise<ProductView> {
    return this.shelf.takeOffShelf(id);
  }
}
