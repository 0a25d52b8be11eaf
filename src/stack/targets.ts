// The names `prism stack logs` and `prism stack restart` take: each native service of the topology (in the
// cluster one each node, `temporal-2`, or every node of a service by the service's name, `temporal`), and
// each application process of `prism up` (`worker`; in the cluster topology `worker-2`, or `worker` for the
// one on every machine). Each has a log file; a service or a process has a pid file too.
import { appStatus } from '../app/index.ts';
import type { Env } from '../config.ts';
import { PrismError } from '../errors.ts';
import { context } from './native.ts';
import { stackPaths } from './paths.ts';
import { servicesOf, type NativeService } from './services.ts';

export interface Target {
  /** Its own name: `redis`, `kafka-2`, `worker`, `api-3`. */
  name: string;
  /** A native service of the stack, or an application process of `prism up`. */
  kind: 'service' | 'process';
  /** The name that stands for every node of it in the cluster topology (`kafka` for `kafka-2`); else its name. */
  group: string;
  logFile: string;
  /** The service itself (kind `service`). */
  service?: NativeService;
}

/** Every service of the topology `env` asks for, then every application process, in the order they start. */
export function managedTargets(env: Env): Target[] {
  const paths = stackPaths(env);
  const services: Target[] = servicesOf(env).map((service) => ({
    name: service.name,
    kind: 'service',
    group: service.group ?? service.name,
    logFile: context(service, env, paths).logFile,
    service,
  }));
  const cluster = env.PRISM_TOPOLOGY === 'cluster';
  const processes: Target[] = appStatus(env).map((p) => ({
    name: p.name,
    kind: 'process',
    // `worker-2` is the worker on machine 2 (src/app/index.ts appProcessesOf).
    group: cluster ? p.name.replace(/-\d+$/, '') : p.name,
    logFile: p.logFile,
  }));
  return [...services, ...processes];
}

/** The known names, for a message: each target, then (cluster) each group that stands for several. */
export function knownNames(targets: Target[]): string {
  const groups = [...new Set(targets.map((t) => t.group))].filter((g) => !targets.some((t) => t.name === g));
  const list = (kind: Target['kind']) =>
    targets
      .filter((t) => t.kind === kind)
      .map((t) => t.name)
      .join(', ');
  return (
    `services: ${list('service')}; processes of \`prism up\`: ${list('process')}` +
    (groups.length ? `; every node of one: ${groups.join(', ')}` : '')
  );
}

export function unknownService(name: string, targets: Target[]): PrismError {
  return new PrismError(
    'UNKNOWN_SERVICE',
    `no service or process named "${name}". Known: ${knownNames(targets)}`,
    {
      details: { name, known: targets.map((t) => t.name) },
    },
  );
}

/**
 * What `name` stands for: the one target of that name, or every node of a clustered service or process
 * (`temporal`: temporal-1..3, in order); with no name, every target. An unknown name fails with
 * UNKNOWN_SERVICE listing the known ones.
 */
export function resolveTargets(targets: Target[], name?: string): Target[] {
  if (name === undefined) return targets;
  const exact = targets.filter((t) => t.name === name);
  if (exact.length) return exact;
  const group = targets.filter((t) => t.group === name);
  if (group.length) return group;
  throw unknownService(name, targets);
}
