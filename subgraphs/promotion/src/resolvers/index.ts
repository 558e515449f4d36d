import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { SeckillItem } from "./SeckillItem.ts";
import { SeckillReservation } from "./SeckillReservation.ts";

export const resolvers = { Query, Mutation, SeckillItem, SeckillReservation };
