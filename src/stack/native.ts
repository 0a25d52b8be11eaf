// The native stack: every service of docker-compose.yml as a local process with its own data directory,
// log file and pid file, for machines without a Docker engine.
import { PrismError } from '../errors.ts';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../config.ts';
import { probe, probeAll, type ServiceHealth } from './health.ts';
import { installMissing } from './install.ts';
import { ensureDirs, stackPaths, type StackPaths } from './paths.ts';
import { isCluster } from './topology.ts';
import { joinCgroup, machineCgroup } from './cgroups.ts';
import {
  commandLine,
  ownedPid,
  portListener,
  removeFile,
  run,
  stillRunning,
  stopProcess,
} from './process.ts';
import { reserveListeningPorts } from './reserved-ports.ts';
import type { Progress } from '../progress.ts';
import { servicesOf, type NativeService, type ServiceContext } from './services.ts';
import { clusterMachines, machineEnv } from './topology.ts';
import { serviceNames } from './versions.ts';

export class StackError extends PrismError {
  constructor(message: string) {
    super('STACK_FAILED', message);
    this.name = 'StackError';
  }
}

const readyTimeoutMs = 180_000;

export function context(service: NativeService, env: Env, paths: StackPaths): ServiceContext {
  const machine = service.machine;
  return {
    env: machine ? machineEnv(env, machine) : env,
    ...(machine ? { cluster: { machine, machines: clusterMachines(env), env } } : {}),
    paths,
    dataDir: join(paths.data, service.name),
    logFile: join(paths.logs, `${service.name}.log`),
    pidFile: join(paths.run, `${service.name}.pid`),
  };
}

async function logTail(file: string, lines = 30): Promise<string> {
  if (!existsSync(file)) return '(no log written)';
  const { stdout } = await run('tail', ['-n', String(lines), file]).catch(() => ({ stdout: '' }));
  return stdout.trimEnd();
}

async function waitReady(service: NativeService, ctx: ServiceContext, pid: number): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let last: ServiceHealth[] = [];
  while (Date.now() < deadline) {
    last = await Promise.all(service.serves.map((name) => probe(name, ctx.env)));
    if (last.every((h) => h.healthy)) return;
    if (!stillRunning(pid)) {
      throw new StackError(
        `${service.name} exited while starting. Last lines of ${ctx.logFile}:\n${await logTail(ctx.logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const why = last.map((h) => `${h.name}: ${h.error ?? 'not healthy'}`).join('; ');
  throw new StackError(
    `${service.name} did not become ready within ${readyTimeoutMs / 1000}s (${why}). ` +
      `Last lines of ${ctx.logFile}:\n${await logTail(ctx.logFile)}`,
  );
}

export async function ensurePortsFree(service: NativeService, env: Env): Promise<void> {
  for (const port of service.ports(env)) {
    const listener = await portListener(port, env.PRISM_BIND_ADDRESS);
    if (listener) {
      throw new StackError(
        `port ${port}, needed by ${service.name}, is already in use by ${listener.description}. ` +
          `Stop that process, or point ${service.name} at another port (see .env.example).`,
      );
    }
  }
}

/**
 * Stops what a lost parent of this service left running on its ports with its data directory (a PostgreSQL
 * whose Patroni was killed: the postmaster lives on, adopted by init): it is this service's own, and the new
 * start takes its place.
 */
function usesDirectory(commandLine: string, dir: string): boolean {
  return commandLine.split(/[\s=]/).some((arg) => arg === dir || arg.startsWith(`${dir}/`));
}

async function stopOrphans(service: NativeService, ctx: ServiceContext, progress: Progress): Promise<void> {
  for (const port of service.ports(ctx.env)) {
    const listener = await portListener(port, ctx.env.PRISM_BIND_ADDRESS);
    if (listener?.pid == null || !usesDirectory(commandLine(listener.pid) ?? '', ctx.dataDir)) continue;
    progress.step(`stopping ${listener.description}, left running on ${service.name}'s data directory`);
    await stopProcess(listener.pid, 30_000);
  }
}

export async function startService(
  service: NativeService,
  env: Env,
  paths: StackPaths,
  progress: Progress,
): Promise<void> {
  const ctx = context(service, env, paths);
  let pid = ownedPid(ctx.pidFile, service.marker);
  if (pid === null) {
    const previous = service.previousMarker ? ownedPid(ctx.pidFile, service.previousMarker) : null;
    if (previous !== null) {
      progress.step(`stopping ${service.name} of an earlier version (pid ${previous}) to start this one`);
      await stopProcess(previous, 30_000);
    }
    removeFile(ctx.pidFile); // stale: its process is gone or is now something else
    await stopOrphans(service, ctx, progress);
    reserveListeningPorts(service.name, service.ports(ctx.env), progress);
    await ensurePortsFree(service, ctx.env);
    progress.step(`starting ${service.name} (log: ${ctx.logFile})`);
    try {
      pid = await service.start(ctx);
      // A node of the cluster topology joins its machine's group (src/stack/cgroups.ts), as do the
      // processes it starts later (Patroni's PostgreSQL).
      if (service.machine) joinCgroup(pid, machineCgroup(service.machine.index, service.name));
    } catch (err) {
      throw new StackError(
        `${service.name} failed to start: ${(err as Error).message}\nLast lines of ${ctx.logFile}:\n${await logTail(ctx.logFile)}`,
      );
    }
  } else if (service.refresh) {
    try {
      const restarted = await service.refresh(ctx, pid);
      if (typeof restarted === 'number') {
        progress.step(`restarted ${service.name} (pid ${restarted}) to bring it up to date`);
        pid = restarted;
      }
    } catch (err) {
      throw new StackError(
        `${service.name} (pid ${pid}) could not be brought up to date: ${(err as Error).message}`,
      );
    }
  }
  await waitReady(service, ctx, pid);
  try {
    await service.afterReady?.(ctx);
  } catch (err) {
    throw new StackError(
      `${service.name} runs (pid ${pid}), but its setup after the start failed: ${(err as Error).message}`,
    );
  }
  progress.step(`${service.name} is ready (pid ${pid})`);
}

export interface UpOptions {
  clean?: boolean;
}

export async function nativeUp(
  env: Env,
  progress: Progress,
  options: UpOptions = {},
): Promise<ServiceHealth[]> {
  const paths = stackPaths(env);
  ensureDirs(paths);
  if (options.clean) {
    await nativeDown(env, progress);
    progress.step(`--clean: removing service data under ${paths.data}`);
    for (const service of servicesOf(env))
      rmSync(join(paths.data, service.name), { recursive: true, force: true });
  }
  // A quick look when everything is installed; a new version (or tool) is installed even while the stack
  // runs, so that it is there for the next start and for the tools that use it now (Docker Compose).
  await installMissing(paths, progress);
  const services = servicesOf(env);
  if (!options.clean) {
    const health = await nativeHealth(env);
    const running = services.every((s) => ownedPid(context(s, env, paths).pidFile, s.marker) !== null);
    // A running stack of an earlier version (no roles and users yet, exporters with old credentials) is
    // brought up to date below; one that is up to date is left alone.
    const current =
      running && (await Promise.all(services.map((s) => s.current?.(context(s, env, paths)) ?? true)));
    if (running && health.every((h) => h.healthy) && current && current.every(Boolean)) return health;
  }
  await startServices(services, env, paths, progress);
  return nativeHealth(env);
}

/**
 * Every service's health: in the single topology each service's; in the cluster one each node's (asked of
 * it alone, with its role in its cluster), then each clustered service's as its clients see it.
 */
export async function nativeHealth(env: Env): Promise<ServiceHealth[]> {
  if (!isCluster(env)) return probeAll(serviceNames, env);
  const paths = stackPaths(env);
  const nodes = await Promise.all(
    servicesOf(env).map(async (service) => {
      const ctx = context(service, env, paths);
      const [health, role] = await Promise.all([
        probeAll(service.serves, ctx.env),
        service.role?.(ctx).catch(() => null) ?? Promise.resolve(null),
      ]);
      return health.map((h) => ({ ...h, node: service.name, role: role ?? undefined }));
    }),
  );
  return nodes.flat();
}

/**
 * Starts `services`, each as soon as those of them it needs (`after`) are ready, the others all at once;
 * throws one error naming every service that failed and why.
 */
export async function startServices(
  services: NativeService[],
  env: Env,
  paths: StackPaths,
  progress: Progress,
): Promise<void> {
  const started = new Map<string, Promise<void>>();
  const startInOrder = (s: NativeService): Promise<void> => {
    let promise = started.get(s.name);
    if (!promise) {
      const needs = services.filter(
        (other) => s.after?.includes(other.name) || (other.group && s.after?.includes(other.group)),
      );
      promise = Promise.all(needs.map(startInOrder)).then(
        () => startService(s, env, paths, progress),
        (err: unknown) => {
          throw new StackError(`${s.name} was not started: ${(err as Error).message.split('\n')[0]}`);
        },
      );
      started.set(s.name, promise);
    }
    return promise;
  };
  const results = await Promise.allSettled(services.map(startInOrder));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0)
    throw new StackError(failures.map((f) => (f.reason as Error).message).join('\n\n'));
}

/** Stops the processes this stack started (by their pid files), leaving their data in place. */
export async function nativeDown(env: Env, progress: Progress): Promise<string[]> {
  const paths = stackPaths(env);
  if (!existsSync(paths.run)) return [];
  const stopped: string[] = [];
  // Each service stops once those that need it (`after`) have stopped: a Temporal server that loses its
  // PostgreSQL while it shuts down waits for it until it is killed.
  const stopping = new Map<string, Promise<void>>();
  const services = servicesOf(env);
  const stopInOrder = (service: NativeService): Promise<void> => {
    let promise = stopping.get(service.name);
    if (!promise) {
      const dependents = services.filter(
        (other) =>
          other.after?.includes(service.name) || (service.group && other.after?.includes(service.group)),
      );
      promise = Promise.all(dependents.map(stopInOrder)).then(async () => {
        const ctx = context(service, env, paths);
        const pid = ownedPid(ctx.pidFile, service.marker);
        if (pid !== null) {
          progress.step(`stopping ${service.name} (pid ${pid})`);
          // Its own stop signal: PostgreSQL's SIGTERM is a "smart" shutdown that waits for every client.
          await stopProcess(pid, 30_000, service.stopSignal ?? 'SIGTERM');
          stopped.push(service.name);
        }
        removeFile(ctx.pidFile);
      });
      stopping.set(service.name, promise);
    }
    return promise;
  };
  await Promise.all(services.map(stopInOrder));
  return stopped;
}

export interface NativeProcess {
  name: string;
  pid: number | null;
  logFile: string;
}

export function nativeProcesses(env: Env): NativeProcess[] {
  const paths = stackPaths(env);
  return servicesOf(env).map((s) => {
    const ctx = context(s, env, paths);
    return { name: s.name, pid: ownedPid(ctx.pidFile, s.marker), logFile: ctx.logFile };
  });
}

/** True once the native stack has been started on this machine (it has a run directory with pid files). */
export function nativeStackExists(env: Env): boolean {
  const { run: runDir } = stackPaths(env);
  return existsSync(runDir) && readdirSync(runDir).length > 0;
}

/**
 * Stops and starts one service of the native stack (its data stays): what `prism backup restore` needs to
 * replace Temporal's persistence, and fault injection to restart what it killed.
 */
export function nativeServiceControl(
  env: Env,
  name: string,
  progress: Progress,
): { stop(): Promise<void>; start(): Promise<void> } {
  // A service, or on the cluster topology every node of it (`temporal`: temporal-1..3).
  const all = servicesOf(env);
  const exact = all.filter((s) => s.name === name);
  const services = exact.length ? exact : all.filter((s) => s.group === name);
  if (services.length === 0) throw new StackError(`the native stack has no service "${name}"`);
  const paths = stackPaths(env);
  return {
    async stop() {
      await Promise.all(
        services.map(async (service) => {
          const ctx = context(service, env, paths);
          const pid = ownedPid(ctx.pidFile, service.marker);
          if (pid !== null) {
            progress.step(`stopping ${service.name} (pid ${pid})`);
            await stopProcess(pid, 30_000);
          }
          removeFile(ctx.pidFile);
        }),
      );
    },
    start: () => startServices(services, env, paths, progress),
  };
}
