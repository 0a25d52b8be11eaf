# The application image: the `prism` CLI, which runs the Temporal worker (`prism worker`) or the HTTP API
# (`prism api`). Sources are TypeScript run through tsx, as in development.
# Backups run server tools: Weaviate and InfluxDB binaries from their images (the versions the stack runs),
# PostgreSQL's client 15, Redis and SQLite from Debian.
FROM cr.weaviate.io/semitechnologies/weaviate:1.36.12 AS weaviate
FROM influxdb:1.12.4 AS influxdb

FROM node:20.20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client-15 redis-server sqlite3 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=weaviate /bin/weaviate /usr/local/bin/weaviate
COPY --from=influxdb /usr/bin/influxd /usr/local/bin/influxd
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
USER node
ENTRYPOINT ["node", "bin/prism.js"]
CMD ["--help"]
