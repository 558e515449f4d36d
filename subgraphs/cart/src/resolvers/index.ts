import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { CartItem } from "./CartItem.ts";

export const resolvers = { Query, Mutation, CartItem };
