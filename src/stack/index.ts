// `prism stack`: one entry point for both ways of running the services.
import type { Env } from '../config.ts';
import {
  composeServiceNames,
  composeVolumes,
  dockerDown,
  dockerDownRemovingVolumes,
  dockerEngineAnswers,
  dockerUp,
} from './docker.ts';
import { dataToRemove, removeData } from './data.ts';
import { stackPaths } from './paths.ts';
import { probeAll, type ServiceHealth } from './health.ts';
import { nativeDown, nativeHealth, nativeStackExists, nativeUp } from './native.ts';
import { isCluster } from './topology.ts';
import type { Progress } from '../progress.ts';

export type StackMode = 'native' | 'docker';

/** `--native` / `--docker` (or PRISM_STACK_MODE) force a mode; otherwise Docker wherever an engine answers. */
export async function resolveMode(env: Env, forced?: StackMode): Promise<StackMode> {
  const wanted = forced ?? (env.PRISM_STACK_MODE === 'auto' ? undefined : env.PRISM_STACK_MODE);
  // The cluster topology under Compose is docker-compose.cluster.yml, which `prism stack` does not drive.
  if (isCluster(env)) {
    if (wanted === 'docker')
      throw new Error(
        'the cluster topology under Docker Compose is docker-compose.cluster.yml: ' +
          '`docker compose -f docker-compose.cluster.yml up -d` (docs/scaling.md)',
      );
    return 'native';
  }
  if (wanted === 'docker' && !(await dockerEngineAnswers())) {
    throw new Error('--docker was asked for, but no Docker engine answers (`docker info` failed)');
  }
  if (wanted) return wanted;
  // A native stack already set up on this machine keeps being used, so data never silently moves.
  if (nativeStackExists(env)) return 'native';
  return (await dockerEngineAnswers()) ? 'docker' : 'native';
}

export async function stackUp(
  env: Env,
  progress: Progress,
  options: { mode?: StackMode; clean?: boolean } = {},
): Promise<ServiceHealth[]> {
  const mode = await resolveMode(env, options.mode);
  progress.step(`mode: ${mode}`);
  return mode === 'docker' ? dockerUp(env, progress, options) : nativeUp(env, progress, options);
}

export async function stackDown(
  env: Env,
  progress: Progress,
  options: { mode?: StackMode } = {},
): Promise<void> {
  const mode = await resolveMode(env, options.mode);
  if (mode === 'docker') await dockerDown(progress);
  else await nativeDown(env, progress);
}

export async function stackStatus(env: Env, options: { mode?: StackMode } = {}): Promise<ServiceHealth[]> {
  const mode = await resolveMode(env, options.mode);
  return mode === 'docker' ? probeAll(composeServiceNames, env) : nativeHealth(env);
}

/** What `down --remove-data` deletes, decided (and shown) before anything is stopped. */
export interface DataRemoval {
  mode: StackMode;
  /** The directories (native) or the Compose project's volumes. */
  what: string[];
  /** Where they are, and what stays, for the confirmation. */
  where: string;
}

export async function dataRemovalPlan(env: Env, options: { mode?: StackMode } = {}): Promise<DataRemoval> {
  const mode = await resolveMode(env, options.mode);
  if (mode === 'docker')
    return {
      mode,
      what: await composeVolumes(),
      where: 'the volumes of the Compose project prism: `docker compose down --volumes`',
    };
  const data = stackPaths(env).data;
  return {
    mode,
    what: dataToRemove(env),
    where: `under ${data}; its logs/, run/, secrets.env, TLS material and backups/ stay`,
  };
}

/** Stops the stack, then deletes what `plan` named. */
export async function stackDownRemovingData(env: Env, plan: DataRemoval, progress: Progress): Promise<void> {
  if (plan.mode === 'docker') return dockerDownRemovingVolumes(progress);
  await nativeDown(env, progress);
  removeData(env, plan.what, progress);
}
