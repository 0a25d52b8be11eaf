#!/usr/bin/env node
// Generates the Prisma client (src/generated/prisma) after `npm ci`. The prisma CLI insists on knowing
// where a native schema engine is before any command, though `generate` never runs it, and would try to
// download one from a host that may be unreachable; point it at an existing file instead. Migrations do
// not use the CLI (see src/db/schema-engine.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let cli;
try {
  cli = require.resolve('prisma/build/index.js');
} catch {
  // Production installs (npm ci --omit=dev) ship the client generated at build time.
  if (existsSync(new URL('../src/generated/prisma/client.ts', import.meta.url))) process.exit(0);
  console.error('prisma-generate: the prisma CLI is not installed and no generated client exists');
  process.exit(1);
}
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
};
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  stdio: 'inherit',
  env: { ...env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
});
process.exit(result.status ?? 1);
