#!/usr/bin/env node
// The `prism` command. Sources are TypeScript run through tsx's loader, so a clean clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
