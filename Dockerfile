# One image for every mallgraph process; docker-compose.yml picks the entry file per service.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 CHECKPOINT_DISABLE=1
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages ./packages
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY prisma ./prisma
COPY schema ./schema
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npx turbo run generate --output-logs=errors-only
# Default: the gateway. Services override `command`.
CMD ["node", "--import", "tsx", "gateway/src/index.ts"]
