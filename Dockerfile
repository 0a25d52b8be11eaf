# The application images, two targets of one build. Sources are TypeScript run through tsx, as in development.
# - `app` (the default, last): the `prism` CLI with Node alone — the task worker (`prism worker`), the HTTP API
#   (`prism api`) and the reference agents. No server binary and no database tool.
# - `maintenance`: the same CLI for the maintenance worker (`prism maintenance-worker`), plus the tools its
#   backups, restores and drills run: Weaviate and InfluxDB binaries from their images (the versions the
#   stack runs; a drill starts scratch servers of them), PostgreSQL's client 15 and Redis from Debian.
FROM cr.weaviate.io/semitechnologies/weaviate:1.36.12 AS weaviate
FROM influxdb:1.12.4 AS influxdb

FROM node:20.20-bookworm-slim AS app-files
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
# Fixes to dependencies, applied by the postinstall (patch-package): see patches/README.md
COPY patches ./patches
# The full install generates the Prisma client (postinstall); then the dev tools go.
RUN npm ci && npm prune --omit=dev
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities

# Its tool layers come before the application's files, so that a change of the sources rebuilds neither.
FROM node:20.20-bookworm-slim AS maintenance
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client-15 redis-server \
  && rm -rf /var/lib/apt/lists/*
COPY --from=weaviate /bin/weaviate /usr/local/bin/weaviate
COPY --from=influxdb /usr/bin/influxd /usr/local/bin/influxd
COPY --from=app-files /app /app
WORKDIR /app
ENV NODE_ENV=production
USER node
ENTRYPOINT ["node", "bin/prism.js"]
CMD ["maintenance-worker"]

FROM app-files AS app
USER node
ENTRYPOINT ["node", "bin/prism.js"]
CMD ["--help"]
