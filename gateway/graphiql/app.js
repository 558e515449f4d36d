// GraphiQL for the gateway (development only), bundled by build.mjs into src/generated/graphiql/.
// The page (src/http/graphiql.ts) passes its settings in <script id="graphiql-config">.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";

const config = JSON.parse(document.getElementById("graphiql-config").textContent);
const url = new URL(config.path, location.href).toString();
// Subscriptions go over graphql-ws on the same path; the headers editor's content becomes the
// connection params, so `{"Authorization": "Bearer …"}` authenticates them as it does queries.
const fetcher = createGraphiQLFetcher({ url, subscriptionUrl: url.replace(/^http/, "ws") });

const query = new URLSearchParams(location.search).get("query");
createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultTabs: config.examples,
    query: query ?? undefined,
    defaultEditorToolsVisibility: "headers",
    shouldPersistHeaders: true,
  }),
);
