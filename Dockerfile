# The application image: the `prism` CLI, which runs the Temporal worker (`prism worker`) or the HTTP API
# (`prism api`). Sources are TypeScript run through tsx, as in development.
FROM node:20.20-bookworm-slim
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
