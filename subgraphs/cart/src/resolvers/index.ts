import { Cart } from "./Cart.ts";
import { CartItem } from "./CartItem.ts";
import { CouponApplicability } from "./CouponApplicability.ts";
import { Mutation } from "./Mutation.ts";
import { Query } from "./Query.ts";

export const resolvers = { Query, Mutation, CartItem, Cart, CouponApplicability };
