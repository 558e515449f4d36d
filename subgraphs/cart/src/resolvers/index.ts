import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { CartItem } from "./CartItem.ts";
import { Cart } from "./Cart.ts";
import { CouponApplicability } from "./CouponApplicability.ts";

export const resolvers = { Query, Mutation, CartItem, Cart, CouponApplicability };
