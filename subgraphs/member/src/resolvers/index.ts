import { Query } from "./Query.ts";

export const resolvers = { Query };
