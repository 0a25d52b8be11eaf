import { chmodSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stackDataDir, type Env } from '../config.ts';

export { repoRoot } from '../repo.ts';

export interface StackPaths {
  /** Binaries and jars built for this machine, keyed by version (a cache: safe to delete). */
  home: string;
  bin: string;
  lib: string;
  build: string;
  /** Service data, logs and pid files (not a cache: `up --clean` is the way to empty it). */
  data: string;
  logs: string;
  run: string;
}

export function stackPaths(
  env: Pick<Env, 'PRISM_STACK_HOME' | 'PRISM_STACK_DATA'> & Partial<Pick<Env, 'PRISM_TOPOLOGY'>>,
): StackPaths {
  const home = resolve(env.PRISM_STACK_HOME);
  // The cluster topology's nodes keep their data apart from the single-node stack's (both may run at once:
  // they listen on different addresses); the secrets and backups are the deployment's, shared.
  const data = env.PRISM_TOPOLOGY === 'cluster' ? join(stackDataDir(env), 'cluster') : stackDataDir(env);
  return {
    home,
    bin: join(home, 'bin'),
    lib: join(home, 'lib'),
    build: join(home, 'build'),
    data,
    logs: join(data, 'logs'),
    run: join(data, 'run'),
  };
}

export function ensureDirs(paths: StackPaths): void {
  for (const dir of [paths.bin, paths.lib, paths.build, paths.data, paths.logs, paths.run]) {
    mkdirSync(dir, { recursive: true });
  }
  // As root, PostgreSQL runs as the `postgres` user and must reach its directory inside the data directory
  // (which may be a fresh `mktemp -d`, mode 0700); its own directory stays 0700.
  if (process.getuid?.() === 0) chmodSync(paths.data, 0o755);
}
