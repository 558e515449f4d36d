/**
 * Brands (many-to-many with level-3 categories), attributes per category (BASE / SALE, searchable)
 * with their values, and front (shop) categories mapped onto back categories.
 */
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { Reason, alreadyExists, assertText, notFound, refuse } from "../errors.ts";
import type { AttributeKind, FrontCategoryKind } from "../generated/prisma/client.ts";
import type { CampaignScopeSource } from "./campaigns.ts";
import type { CategoryService } from "./categories.ts";
import { touchSearch, type Deps, type Tx } from "./deps.ts";
import type { SeckillSkuSource } from "./seckill.ts";

export interface BrandInput {
  name: string;
  logo?: string | null;
  description?: string | null;
  categoryIds?: string[] | null;
}

export interface AttributeInput {
  categoryId: string;
  name: string;
  kind: AttributeKind;
  searchable?: boolean | null;
  values?: string[] | null;
}

export interface FrontCategoryInput {
  name: string;
  sort?: number | null;
  kind?: FrontCategoryKind | null;
  backCategoryIds?: string[] | null;
}

export const NEW_ARRIVAL_DAYS = 14;

export class TaxonomyService {
  constructor(
    private d: Deps,
    private categories: CategoryService,
    private productCache?: { invalidate(ids: Iterable<string>): Promise<void> },
    private seckill?: SeckillSkuSource,
    private campaigns?: CampaignScopeSource,
  ) {}

  // ------------------------------------------------------------ brands
  brands(categoryId?: string | null) {
    return this.d.prisma.brand.findMany({
      where: categoryId ? { categories: { some: { categoryId } } } : undefined,
      orderBy: [{ sort: "asc" }, { name: "asc" }],
    });
  }

  async brandCategories(brandId: string) {
    const links = await this.d.prisma.categoryBrand.findMany({ where: { brandId }, include: { category: true } });
    return links.map((l) => ({ ...l.category, children: [] }));
  }

  private async checkLeaves(tx: Tx, ids: string[]) {
    for (const id of [...new Set(ids)].sort()) await this.categories.requireLeaf(tx, id); // id order, like category locks
  }

  async createBrand(input: BrandInput) {
    const name = assertText(input.name, "name", 100);
    try {
      return await this.d.prisma.$transaction(async (tx) => {
        await this.checkLeaves(tx, input.categoryIds ?? []);
        const b = await tx.brand.create({ data: { name, logo: input.logo ?? null, description: input.description ?? null } });
        if (input.categoryIds?.length)
          await tx.categoryBrand.createMany({ data: [...new Set(input.categoryIds)].map((categoryId) => ({ categoryId, brandId: b.id })) });
        return b;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists(Reason.BRAND_NAME_TAKEN, `brand ${name} exists`);
      throw e;
    }
  }

  async updateBrand(id: string, input: BrandInput) {
    const name = assertText(input.name, "name", 100);
    try {
      return await this.d.prisma
        .$transaction(async (tx) => {
          if (!(await tx.brand.findUnique({ where: { id } }))) throw notFound("brand", id);
          const b = await tx.brand.update({
            where: { id },
            data: { name, logo: input.logo ?? null, description: input.description ?? null },
          });
          if (input.categoryIds) {
            await this.checkLeaves(tx, input.categoryIds);
            await tx.categoryBrand.deleteMany({ where: { brandId: id } });
            await tx.categoryBrand.createMany({ data: [...new Set(input.categoryIds)].map((categoryId) => ({ categoryId, brandId: id })) });
          }
          // brand name and logo are part of the search documents of its SPUs
          const spus = await tx.spu.findMany({ where: { brandId: id }, select: { id: true, status: true } });
          await touchSearch(
            tx,
            spus.filter((s) => s.status === "ON_SHELF").map((s) => s.id),
          );
          await this.productCache?.invalidate(spus.map((s) => s.id));
          return { brand: b, spuIds: spus.map((s) => s.id) };
        })
        .then(async ({ brand, spuIds }) => {
          await this.productCache?.invalidate(spuIds);
          return brand;
        });
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists(Reason.BRAND_NAME_TAKEN, `brand ${name} exists`);
      throw e;
    }
  }

  // ------------------------------------------------------------ attributes
  attributes(categoryId: string, kind?: AttributeKind | null) {
    return this.d.prisma.attribute.findMany({
      where: { categoryId, kind: kind ?? undefined },
      include: { values: { orderBy: [{ sort: "asc" }, { value: "asc" }] } },
      orderBy: [{ sort: "asc" }, { name: "asc" }],
    });
  }

  private cleanValues(values: string[]): string[] {
    const out = values.map((v, i) => assertText(v, `values[${i}]`, 100));
    if (new Set(out).size !== out.length) throw badValues();
    return out;
  }

  async createAttribute(input: AttributeInput) {
    const name = assertText(input.name, "name", 100);
    if (input.kind !== "BASE" && input.kind !== "SALE") throw refuse(Reason.ATTRIBUTE_MISMATCH, "kind must be BASE or SALE");
    const values = this.cleanValues(input.values ?? []);
    try {
      return await this.d.prisma.$transaction(async (tx) => {
        await this.categories.requireLeaf(tx, input.categoryId);
        const a = await tx.attribute.create({
          data: { categoryId: input.categoryId, name, kind: input.kind, searchable: input.searchable ?? false },
        });
        if (values.length) await tx.attributeValue.createMany({ data: values.map((value, sort) => ({ attributeId: a.id, value, sort })) });
        return tx.attribute.findUniqueOrThrow({ where: { id: a.id }, include: { values: { orderBy: { sort: "asc" } } } });
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists(Reason.ATTRIBUTE_MISMATCH, `attribute ${name} exists in this category`);
      throw e;
    }
  }

  async addAttributeValues(attributeId: string, values: string[]) {
    const clean = this.cleanValues(values);
    return this.d.prisma.$transaction(async (tx) => {
      const a = await tx.attribute.findUnique({ where: { id: attributeId }, include: { values: true } });
      if (!a) throw notFound("attribute", attributeId);
      const have = new Set(a.values.map((v) => v.value));
      const fresh = clean.filter((v) => !have.has(v));
      if (fresh.length)
        await tx.attributeValue.createMany({ data: fresh.map((value, i) => ({ attributeId, value, sort: a.values.length + i })) });
      return tx.attribute.findUniqueOrThrow({ where: { id: attributeId }, include: { values: { orderBy: { sort: "asc" } } } });
    });
  }

  // ------------------------------------------------------------ front categories
  frontCategories() {
    return this.d.prisma.frontCategory.findMany({
      orderBy: [{ sort: "asc" }, { name: "asc" }],
      include: { links: { include: { category: true } } },
    });
  }

  private async checkBackCategories(tx: Tx, ids: string[]) {
    for (const id of new Set(ids)) if (!(await tx.category.findUnique({ where: { id } }))) throw notFound("category", id);
  }

  async createFrontCategory(input: FrontCategoryInput) {
    const name = assertText(input.name, "name", 100);
    return this.d.prisma.$transaction(async (tx) => {
      await this.checkBackCategories(tx, input.backCategoryIds ?? []);
      const f = await tx.frontCategory.create({ data: { name, sort: input.sort ?? 0, kind: input.kind ?? "NORMAL" } });
      if (input.backCategoryIds?.length)
        await tx.frontCategoryLink.createMany({
          data: [...new Set(input.backCategoryIds)].map((categoryId) => ({ categoryId, frontCategoryId: f.id })),
        });
      return tx.frontCategory.findUniqueOrThrow({ where: { id: f.id }, include: { links: { include: { category: true } } } });
    });
  }

  async updateFrontCategory(id: string, input: FrontCategoryInput) {
    const name = assertText(input.name, "name", 100);
    return this.d.prisma.$transaction(async (tx) => {
      if (!(await tx.frontCategory.findUnique({ where: { id } }))) throw notFound("front category", id);
      await this.checkBackCategories(tx, input.backCategoryIds ?? []);
      await tx.frontCategory.update({ where: { id }, data: { name, sort: input.sort ?? undefined, kind: input.kind ?? undefined } });
      if (input.backCategoryIds) {
        await tx.frontCategoryLink.deleteMany({ where: { frontCategoryId: id } });
        await tx.frontCategoryLink.createMany({
          data: [...new Set(input.backCategoryIds)].map((categoryId) => ({ categoryId, frontCategoryId: id })),
        });
      }
      return tx.frontCategory.findUniqueOrThrow({ where: { id }, include: { links: { include: { category: true } } } });
    });
  }

  async deleteFrontCategory(id: string) {
    const r = await this.d.prisma.frontCategory.deleteMany({ where: { id } });
    if (!r.count) throw notFound("front category", id);
    return true;
  }

  /**
   * SPU ids a front category shows: its back categories' (and their descendants') SPUs on shelf;
   * NEW: only those put on shelf within 14 days (of the mapped categories, or all when none is
   * mapped); SECKILL: the SPUs on shelf of the SKUs in online (first) or scheduled seckill sessions
   * of the promotion subgraph; FULL_REDUCTION: the SPUs on shelf in scope of the live full-reduction
   * campaigns of the promotion subgraph (within the mapped categories, when some are mapped).
   */
  async frontCategorySpuIds(frontId: string, kind: FrontCategoryKind, first: number): Promise<string[]> {
    if (kind === "SECKILL") return this.seckillSpuIds(first);
    const links = await this.d.prisma.frontCategoryLink.findMany({ where: { frontCategoryId: frontId }, select: { categoryId: true } });
    const leafIds = await this.leavesUnder(links.map((l) => l.categoryId));
    const take = Math.min(Math.max(first, 1), 100);
    if (kind === "FULL_REDUCTION") return this.fullReductionSpuIds(links.length ? leafIds : null, take);
    if (!leafIds.length && kind !== "NEW") return [];
    const since = new Date(Date.now() - NEW_ARRIVAL_DAYS * 24 * 3600 * 1000);
    const spus = await this.d.prisma.spu.findMany({
      where: {
        status: "ON_SHELF",
        ...(leafIds.length ? { categoryId: { in: leafIds } } : {}),
        ...(kind === "NEW" ? { onShelfAt: { gte: since } } : {}),
      },
      orderBy: kind === "NEW" ? [{ onShelfAt: "desc" }, { id: "asc" }] : [{ sales: "desc" }, { id: "asc" }],
      take,
      select: { id: true },
    });
    return spus.map((s) => s.id);
  }

  /** The leaf (level-3) categories of the given categories, themselves included. */
  private async leavesUnder(categoryIds: string[]): Promise<string[]> {
    const tree = await this.categories.tree();
    const wanted = new Set(categoryIds);
    const leafIds: string[] = [];
    const walk = (nodes: typeof tree, inside: boolean) => {
      for (const n of nodes) {
        const on = inside || wanted.has(n.id);
        if (on && n.children.length === 0) leafIds.push(n.id);
        walk(n.children, on);
      }
    };
    walk(tree, false);
    return leafIds;
  }

  /** SPUs on shelf in scope of a live campaign (ALL, CATEGORIES with descendants, SPUS), best sellers first. */
  private async fullReductionSpuIds(within: string[] | null, take: number): Promise<string[]> {
    const scopes = (await this.campaigns?.scopes()) ?? [];
    if (!scopes.length || within?.length === 0) return [];
    const all = scopes.some((s) => s.scope === "ALL");
    const leafIds = all ? [] : await this.leavesUnder(scopes.flatMap((s) => (s.scope === "CATEGORIES" ? s.scopeIds : [])));
    const spuIds = all ? [] : scopes.flatMap((s) => (s.scope === "SPUS" ? s.scopeIds : []));
    if (!all && !leafIds.length && !spuIds.length) return [];
    const spus = await this.d.prisma.spu.findMany({
      where: {
        status: "ON_SHELF",
        ...(all ? {} : { OR: [{ categoryId: { in: leafIds } }, { id: { in: spuIds } }] }),
        ...(within ? { categoryId: { in: within } } : {}),
      },
      orderBy: [{ sales: "desc" }, { id: "asc" }],
      take,
      select: { id: true },
    });
    return spus.map((s) => s.id);
  }

  private async seckillSpuIds(first: number): Promise<string[]> {
    const skuIds = (await this.seckill?.skuIds()) ?? [];
    if (!skuIds.length) return [];
    const rows = await this.d.prisma.sku.findMany({
      where: { id: { in: skuIds }, spu: { status: "ON_SHELF" } },
      select: { id: true, spuId: true },
    });
    const spuOf = new Map(rows.map((r) => [r.id, r.spuId]));
    const out = [...new Set(skuIds.map((id) => spuOf.get(id)).filter((x): x is string => !!x))];
    return out.slice(0, Math.min(Math.max(first, 1), 100));
  }
}

function badValues() {
  return refuse(Reason.ATTRIBUTE_MISMATCH, "attribute values must be distinct");
}

export type FrontCategoryRow = Awaited<ReturnType<TaxonomyService["frontCategories"]>>[number];
