import { asAdmin, asMember, memberId } from "@mallgraph/platform/access";
import type { MutationResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

const W = "catalog:write";

export const Mutation: MutationResolvers = {
  adminCreateCategory: asAdmin(W, (_p, { input }, ctx) => ctx.services.categories.create(input)),
  adminUpdateCategory: asAdmin(W, (_p, { id, input }, ctx) => ctx.services.categories.update(id, input)),
  adminDeleteCategory: asAdmin(W, (_p, { id }, ctx) => ctx.services.categories.delete(id)),
  adminCreateFrontCategory: asAdmin(W, (_p, { input }, ctx) => ctx.services.taxonomy.createFrontCategory(input)),
  adminUpdateFrontCategory: asAdmin(W, (_p, { id, input }, ctx) => ctx.services.taxonomy.updateFrontCategory(id, input)),
  adminDeleteFrontCategory: asAdmin(W, (_p, { id }, ctx) => ctx.services.taxonomy.deleteFrontCategory(id)),
  adminCreateBrand: asAdmin(W, (_p, { input }, ctx) => ctx.services.taxonomy.createBrand(input)),
  adminUpdateBrand: asAdmin(W, (_p, { id, input }, ctx) => ctx.services.taxonomy.updateBrand(id, input)),
  adminCreateAttribute: asAdmin(W, (_p, { input }, ctx) => ctx.services.taxonomy.createAttribute(input)),
  adminAddAttributeValues: asAdmin(W, (_p, { attributeId, values }, ctx) => ctx.services.taxonomy.addAttributeValues(attributeId, values)),
  adminCreateProduct: asAdmin(W, (_p, { input }, ctx) => ctx.services.products.create(input)),
  adminUpdateProduct: asAdmin(W, (_p, { id, input }, ctx) => ctx.services.products.update(id, input)),
  adminAddSku: asAdmin(W, (_p, { productId, input }, ctx) => ctx.services.products.addSku(productId, input)),
  adminUpdateSku: asAdmin(W, (_p, { id, input }, ctx) => ctx.services.products.updateSku(id, input)),
  adminPutOnShelf: asAdmin(W, (_p, { id }, ctx) => ctx.services.products.putOnShelf(id)),
  adminTakeOffShelf: asAdmin(W, (_p, { id }, ctx) => ctx.services.products.takeOffShelf(id)),
  adminInboundStock: asAdmin(W, (_p, { skuId, quantity, note }, ctx) =>
    ctx.services.inventory.inbound(skuId, quantity, note, ctx.identity.kind === "admin" ? (ctx.identity.id ?? null) : null),
  ),
  addReview: asMember((_p, { orderId, skuId, rating, content }, ctx) =>
    ctx.services.reviews.add(memberId(ctx), orderId, skuId, rating, content),
  ),
  inventoryReserve: asInternal("inventoryReserve", (_p, { key, lines, ttlSeconds }, ctx) =>
    ctx.services.inventory.reserve(key, lines, ttlSeconds),
  ),
  inventoryRelease: asInternal("inventoryRelease", (_p, { key }, ctx) => ctx.services.inventory.release(key)),
  inventoryConfirm: asInternal("inventoryConfirm", (_p, { key }, ctx) => ctx.services.inventory.confirm(key)),
  inventoryReturn: asInternal("inventoryReturn", (_p, { key, skuId, quantity }, ctx) =>
    ctx.services.inventory.returnSold(key, skuId, quantity),
  ),
};
