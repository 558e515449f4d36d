/**
 * `graphql`, loaded the way @apollo/gateway loads it (CommonJS), so that the schema objects the
 * gateway builds and the functions we apply to them come from one module instance. Plain Node
 * resolves `import "graphql"` to the same CommonJS file; vitest would otherwise hand our sources
 * graphql's ESM build ("Cannot use GraphQLObjectType from another module or realm").
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const graphql: typeof import("graphql") = require("graphql");
