// The data `down --remove-data` deletes (spec 5.2, `docker compose down -v`): each service's own data
// directory of the native stack, checked to lie inside the stack's data directory, and nothing else.
import { existsSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Env } from '../config.ts';
import { PrismError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { stackPaths } from './paths.ts';
import { servicesOf } from './services.ts';

/** The directory `dir` lies strictly inside `root` (not `root` itself, not beside it through `..`). */
export function isInside(dir: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(dir));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** What the stack keeps in its data directory besides its services' data: never removed with it. */
const kept = new Set(['logs', 'run', 'cluster', 'backups', 'secrets.env', 'postgres-tls']);

/**
 * The directories `--remove-data` deletes: each service's own data directory (`$PRISM_STACK_DATA/<service>`,
 * in the cluster topology `$PRISM_STACK_DATA/cluster/<node>`) that exists — what `stack up --clean` empties.
 * The logs, pid files, secrets, TLS material and `PRISM_BACKUP_DIR` stay, and the single stack's never
 * touches the cluster's (nor the other way round). Throws rather than name anything outside.
 */
export function dataToRemove(env: Env): string[] {
  const paths = stackPaths(env);
  const root = resolve(paths.data);
  if (root === '/' || root === resolve(process.env.HOME ?? '/'))
    throw new PrismError(
      'INVALID_INPUT',
      `the stack's data directory is ${root}: refusing to remove data there`,
    );
  return servicesOf(env)
    .map((service) => {
      const dir = resolve(join(root, service.name));
      if (!isInside(dir, root) || relative(root, dir).includes('/') || kept.has(service.name))
        throw new PrismError(
          'INTERNAL',
          `the data directory of ${service.name} (${dir}) is not its own directory under ${root}`,
        );
      return dir;
    })
    .filter((dir) => existsSync(dir));
}

/** Deletes the directories `dataToRemove` named, each checked again to be inside the stack's data directory. */
export function removeData(env: Env, dirs: string[], progress: Progress): void {
  const root = stackPaths(env).data;
  for (const dir of dirs) {
    if (!isInside(dir, root))
      throw new PrismError(
        'INTERNAL',
        `${dir} is not inside the stack's data directory ${root}; not removed`,
      );
    progress.step(`removing ${dir}`);
    rmSync(dir, { recursive: true, force: true });
  }
}
