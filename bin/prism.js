#!/usr/bin/env node
// The `prism` command. Sources are TypeScript run through tsx's loader, so a clean clone needs no build step.
// With PRISM_SUPERVISE=1 (how `prism up` starts the application's processes natively) this process only
// supervises: it runs the same command as its child and starts it again if it dies (bin/supervise.js).
import { fileURLToPath } from 'node:url';
import { followSupervisor, supervise } from './supervise.js';

if (process.env.PRISM_SUPERVISE === '1') {
  supervise(fileURLToPath(import.meta.url), process.argv.slice(2));
} else {
  followSupervisor();
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
