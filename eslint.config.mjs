// ESLint flat config: typescript-eslint strict, import order, no import cycles; formatting is
// Prettier's job (eslint-config-prettier turns off the rules it owns). `npm run lint` runs it.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import { flatConfigs as importX } from "eslint-plugin-import-x";
import { config, configs as tseslint } from "typescript-eslint";

export default config(
  { ignores: ["**/node_modules/", "**/src/generated/", "**/dist/", "**/.turbo/", "gateway/graphiql/app.js", ".build-test-*/"] },
  js.configs.recommended,
  ...tseslint.strict,
  importX.recommended,
  importX.typescript,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        fetch: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        structuredClone: "readonly",
        queueMicrotask: "readonly",
        setImmediate: "readonly",
        performance: "readonly",
        Response: "readonly",
        Request: "readonly",
        Headers: "readonly",
        crypto: "readonly",
      },
    },
    settings: {
      "import-x/resolver-next": [
        createTypeScriptImportResolver({
          noWarnOnMultipleProjects: true,
          project: ["tsconfig.json", "*/*/tsconfig.json", "gateway/tsconfig.json"],
        }),
      ],
    },
    rules: {
      "import-x/order": [
        "error",
        { groups: ["builtin", "external", "internal", "parent", "sibling", "index"], alphabetize: { order: "asc", caseInsensitive: true } },
      ],
      "import-x/no-cycle": "error",
      "import-x/no-unresolved": "off",
      // `_name` marks a parameter or binding kept on purpose (a callback's position, a key omitted
      // from a rest copy); tsc --noUnusedLocals --noUnusedParameters (npm run lint) checks the rest too.
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Tests, benchmarks and scripts read untyped JSON answers and index fixtures they just made:
    // `any` and `!` are the honest types there.
    files: ["**/test/**", "test/**", "bench/**", "scripts/**", "**/codegen.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    // Framework boundaries where the value is dynamic by nature: Prisma's per-model delegates and its
    // $extends query hook (one hook for every model), the Prisma driver adapter, graphql-ws's socket
    // context, Apollo's resolver map and error formatter, a property keyed by a symbol on a resolver.
    // The callers of these helpers are typed.
    files: [
      "packages/platform/src/audit.ts",
      "packages/platform/src/audit-scope.ts",
      "packages/platform/src/access.ts",
      "packages/platform/src/subgraph.ts",
      "gateway/src/subscriptions/server.ts",
      "subgraphs/catalog/src/index.ts",
    ],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  prettier,
);
