import { GraphQLScalarType, Kind } from "graphql";
import { Brand } from "./Brand.ts";
import { FrontCategory } from "./FrontCategory.ts";
import { Mutation } from "./Mutation.ts";
import { Product } from "./Product.ts";
import { ProductSearchItem } from "./ProductSearchItem.ts";
import { Query } from "./Query.ts";
import { Sku } from "./Sku.ts";
import { Stock } from "./Stock.ts";

const DateTime = new GraphQLScalarType({
  name: "DateTime",
  description: "ISO-8601 date-time (UTC)",
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()),
  parseValue: (v) => new Date(String(v)),
  parseLiteral: (ast) => (ast.kind === Kind.STRING ? new Date(ast.value) : null),
});

export const resolvers = { DateTime, Query, Mutation, Product, Sku, Stock, FrontCategory, Brand, ProductSearchItem };
