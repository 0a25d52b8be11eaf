// What `prism chaos` can hit, and how: each service of the native stack and each application process, found
// by its pid file, killed (SIGKILL, the process and its children) or frozen (SIGSTOP, then SIGCONT), and
// brought back by the code that started it (`startService` for a service, `startApp` for the worker, the
// agents and the API).
import { readdirSync, readFileSync } from 'node:fs';
import { appStatus, startApp } from '../app/index.ts';
import type { Env } from '../config.ts';
import type { Progress } from '../progress.ts';
import { probe } from '../stack/health.ts';
import { nativeProcesses, startService } from '../stack/native.ts';
import { stackPaths } from '../stack/paths.ts';
import { isAlive } from '../stack/process.ts';
import { nativeServices } from '../stack/services.ts';
import type { ServiceName } from '../stack/versions.ts';

export const faultTargets = [
  'worker',
  'agent-monitoring',
  'agent-prediction',
  'agent-control',
  'agent-analysis',
  'api',
  'temporal',
  'kafka',
  'redis',
  'postgres',
  'weaviate',
  'influxdb',
] as const;
export type FaultTarget = (typeof faultTargets)[number];

// partition: the cluster topology only (a node or machine cut off from the others: src/chaos/partition.ts).
export const faultModes = ['kill', 'freeze', 'partition'] as const;
export type FaultMode = (typeof faultModes)[number];

/** The name people give each target; a task that fails because of it must name it. */
export const componentName: Record<FaultTarget, string> = {
  worker: 'worker',
  'agent-monitoring': 'MONITORING agent',
  'agent-prediction': 'PREDICTION agent',
  'agent-control': 'CONTROL agent',
  'agent-analysis': 'ANALYSIS agent',
  api: 'API',
  temporal: 'Temporal',
  kafka: 'Kafka',
  redis: 'Redis',
  postgres: 'PostgreSQL',
  weaviate: 'Weaviate',
  influxdb: 'InfluxDB',
};

/** How a failure reason names each target (what `failed` reasons are checked against). */
export const componentPattern: Record<FaultTarget, RegExp> = {
  worker: /worker/i,
  'agent-monitoring': /MONITORING/,
  'agent-prediction': /PREDICTION/,
  'agent-control': /CONTROL/,
  'agent-analysis': /ANALYSIS/,
  api: /\bAPI\b/,
  temporal: /Temporal/i,
  kafka: /Kafka/i,
  redis: /Redis/i,
  postgres: /PostgreSQL|database server/i,
  weaviate: /Weaviate/i,
  influxdb: /InfluxDB/i,
};

export const isService = (t: FaultTarget): boolean =>
  !['worker', 'api'].includes(t) && !t.startsWith('agent-');

/** The pid of a target now, or null when it is not running. */
export function targetPid(env: Env, target: FaultTarget): number | null {
  if (isService(target)) return nativeProcesses(env).find((p) => p.name === target)?.pid ?? null;
  return appStatus(env).find((p) => p.name === target)?.pid ?? null;
}

/** A process and all its descendants (PostgreSQL's backends, a shell's children), parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the 4th field of /proc/<pid>/stat, after the parenthesised command name.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

export function signalTree(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves once none of the processes is alive (reaped), or after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** Is the target serving again (a service answering its readiness check, a process running)? */
export async function targetReady(env: Env, target: FaultTarget): Promise<boolean> {
  if (!isService(target)) return targetPid(env, target) !== null;
  const service = nativeServices.find((s) => s.name === target)!;
  const health = await Promise.all(service.serves.map((name: ServiceName) => probe(name, env)));
  return health.every((h) => h.healthy);
}

/** Starts a target that is not running, with the stack's own start code; returns once it is ready. */
export async function restartTarget(
  env: Env,
  target: FaultTarget,
  progress: Progress,
  processEnv?: NodeJS.ProcessEnv,
): Promise<void> {
  if (isService(target)) {
    const service = nativeServices.find((s) => s.name === target)!;
    await startService(service, env, stackPaths(env), progress);
  } else {
    await startApp(env, progress, { processEnv });
  }
}
