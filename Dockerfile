# One image for every mallgraph process; docker-compose.yml and deploy/k8s pick the entry file per
# service. Three stages:
#   build    all dependencies (dev too), generated clients, `npm run build` → /src/dist (JavaScript)
#   tools    = build: runs migrations and the demo data (`prisma migrate deploy` needs the CLI and tsx)
#   runtime  node:20 slim, production dependencies only, the compiled files, user `node`, no tsx
# Decision: docs/decisions/0014-compiled-javascript-in-containers.md.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 CHECKPOINT_DISABLE=1
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm run build

FROM build AS tools
CMD ["node", "--import", "tsx", "scripts/setup.ts", "--no-generate"]

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /src/dist/ ./
ENV NODE_ENV=production
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /app/.data \
 && chown node:node /app/.data
USER node
# Tracing starts before a process's modules when OTEL_EXPORTER_OTLP_ENDPOINT is set; off, this
# preload returns at once and loads nothing else (packages/platform/src/tracing).
ENV NODE_OPTIONS="--import=/app/packages/platform/src/tracing/preload.js"
EXPOSE 4000
# Default: the gateway. Services override the command (subgraphs/<d>/src/index.js, scripts/workers.js).
CMD ["node", "gateway/src/index.js"]
