// `prism stack restart <service>` (spec 5.2, `docker compose restart <svc>`): one service of the native
// stack, or one application process of `prism up`, stopped by its pid and started again.
import { restartAppProcess } from '../app/index.ts';
import type { Env } from '../config.ts';
import type { Progress } from '../progress.ts';
import { probe } from './health.ts';
import { context, startServices } from './native.ts';
import { stackPaths } from './paths.ts';
import { ownedPid, removeFile, stopProcess } from './process.ts';
import type { Target } from './targets.ts';

export interface Restarted {
  name: string;
  /** Its pid before (null: it was not running) and after. */
  before: number | null;
  after: number | null;
  healthy: boolean;
  /** What its readiness check said, when it is not healthy. */
  error?: string;
  ms: number;
}

/**
 * Restarts each target in turn — each node of a cluster's service after the one before is ready again, so
 * that the cluster keeps its quorum: stops it by its pid (its stop signal, SIGKILL after `graceMs`), starts
 * it with the same configuration, and waits until it is ready (a service: its readiness checks; a process:
 * the line it prints once it serves).
 */
export async function restartTargets(
  env: Env,
  targets: Target[],
  progress: Progress,
  options: { graceMs?: number } = {},
): Promise<Restarted[]> {
  const graceMs = options.graceMs ?? 30_000;
  const paths = stackPaths(env);
  const results: Restarted[] = [];
  for (const target of targets) {
    const started = Date.now();
    if (target.kind === 'process') {
      const { before, after } = await restartAppProcess(env, target.name, progress, { graceMs });
      results.push({ name: target.name, before, after, healthy: after !== null, ms: Date.now() - started });
      continue;
    }
    const service = target.service!;
    const ctx = context(service, env, paths);
    const before = ownedPid(ctx.pidFile, service.marker);
    if (before !== null) {
      progress.step(`stopping ${service.name} (pid ${before})`);
      await stopProcess(before, graceMs, service.stopSignal ?? 'SIGTERM');
    } else {
      progress.step(`${service.name} was not running`);
    }
    removeFile(ctx.pidFile);
    await startServices([service], env, paths, progress);
    const health = await Promise.all(service.serves.map((name) => probe(name, ctx.env)));
    const down = health.filter((h) => !h.healthy);
    results.push({
      name: service.name,
      before,
      after: ownedPid(ctx.pidFile, service.marker),
      healthy: down.length === 0,
      ...(down.length ? { error: down.map((h) => `${h.name}: ${h.error ?? 'not healthy'}`).join('; ') } : {}),
      ms: Date.now() - started,
    });
  }
  return results;
}
