// `prism up` / `prism down`: the whole system. `up` brings the services up, migrates, provisions (with the
// demo data set), then starts the application in the background — the task worker (with ingress, bridge and
// alert handler), the maintenance worker (backups, drills, retention, scans, escalation), the four reference
// agents and the HTTP API — each with its log and pid file in the stack's data directory, and returns once
// every one of them said it is ready.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rawEnvironment, type Env } from '../config.ts';
import { PrismError } from '../errors.ts';
import { componentSecrets, isSecretVariable } from '../identity.ts';
import { migrate } from '../db/migrate.ts';
import { agentTypes, type AgentType } from '../task/index.ts';
import { loadDemoData } from '../provision/demo.ts';
import { provisionAll } from '../provision/index.ts';
import { stackUp } from '../stack/index.ts';
import { ensureDirs, repoRoot, stackPaths } from '../stack/paths.ts';
import {
  ownedPid,
  readFrom,
  removeFile,
  spawnDetached,
  stillRunning,
  stopProcess,
} from '../stack/process.ts';
import type { Progress } from '../progress.ts';
import { clusterMachines, isCluster, type Machine } from '../stack/topology.ts';
import { cgroupExecPrefix, machineCgroup } from '../stack/cgroups.ts';

export interface AppProcess {
  /** Its name (`worker`; in the cluster topology `worker-2`, the one on machine 2), its log's and pid file's. */
  name: string;
  /** The machine it runs on (the cluster topology): it binds there and prefers that machine's services. */
  machine?: Machine;
  /** What it runs as: its logins, and the only secrets it is given (src/identity.ts). */
  component: keyof typeof componentSecrets;
  /** What identifies it on its command line (and the start of its arguments). */
  args: string[];
  /** Further arguments, from the configuration. */
  extraArgs?: (env: Env) => string[];
  /** A line its log prints once it serves. */
  ready: RegExp;
}

/** The /metrics port of the reference agent of a type that `prism up` starts: AGENT_METRICS_PORT + its index. */
export function agentMetricsPort(env: Pick<Env, 'AGENT_METRICS_PORT'>, type: AgentType): number {
  return env.AGENT_METRICS_PORT + agentTypes.indexOf(type);
}

export const appProcesses: AppProcess[] = [
  { name: 'worker', component: 'worker', args: ['worker'], ready: /\bready\b/i },
  {
    name: 'maintenance-worker',
    component: 'maintenance',
    args: ['maintenance-worker'],
    ready: /\bready\b/i,
  },
  ...agentTypes.map((type) => ({
    name: `agent-${type.toLowerCase()}`,
    component: 'agent' as const,
    args: ['agent', 'run', '--type', type, '--id', `${type.toLowerCase()}-agent-1`],
    // Each agent on its own /metrics port, which the stack's Prometheus scrapes (job prism-agents).
    extraArgs: (env: Env) => ['--metrics-port', String(agentMetricsPort(env, type))],
    ready: /\bready\b/i,
  })),
  { name: 'api', component: 'api', args: ['api'], ready: /\b(ready|listening)\b/i },
];

/**
 * The environment of an application process: the launcher's (`processEnv`) without a single secret, plus
 * the secrets of its component (read where the launcher reads them: its environment, .env, the stack's
 * secrets file), and PRISM_SECRETS_FILE=none so that it reads no secrets file of its own.
 */
export function componentProcessEnv(
  component: keyof typeof componentSecrets,
  processEnv: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const all = rawEnvironment(repoRoot, processEnv);
  const own: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(processEnv).filter(([name]) => !isSecretVariable(name)),
  );
  for (const name of componentSecrets[component]) if (all[name]) own[name] = all[name];
  return { ...own, PRISM_SECRETS_FILE: 'none' };
}

/**
 * The processes `prism up` starts: one of each (single topology), or one of each on every machine of the
 * cluster topology — task and maintenance workers, an agent of each type (its own id) and an API per
 * machine, so that the others carry the work of a machine that is lost.
 */
export function appProcessesOf(env: Pick<Env, 'PRISM_TOPOLOGY' | 'PRISM_CLUSTER_MACHINES'>): AppProcess[] {
  if (!isCluster(env)) return appProcesses;
  return clusterMachines(env).flatMap((machine) =>
    appProcesses.map((p) => ({
      ...p,
      name: `${p.name}-${machine.index}`,
      machine,
      args: p.args.map((a) => a.replace(/-agent-1$/, `-agent-${machine.index}`)),
    })),
  );
}

/**
 * What a process on `machine` is told where its own machine is: its bind address (its /metrics, the API), and
 * its machine's Temporal frontend first (every frontend serves every queue; the others when it is lost).
 */
function machineProcessEnv(env: Env, machine: Machine | undefined): NodeJS.ProcessEnv {
  if (!machine) return {};
  const frontends = env.TEMPORAL_ADDRESS.split(',');
  const own = frontends.filter((f) => f.startsWith(`${machine.address}:`));
  return {
    PRISM_TOPOLOGY: env.PRISM_TOPOLOGY,
    PRISM_CLUSTER_MACHINES: env.PRISM_CLUSTER_MACHINES,
    PRISM_BIND_ADDRESS: machine.address,
    TEMPORAL_ADDRESS: [...own, ...frontends.filter((f) => !own.includes(f))].join(','),
  };
}

const bin = join(repoRoot, 'bin', 'prism.js');
const marker = (p: AppProcess) => `prism.js ${p.args.join(' ')}`;

/**
 * The file name of a process: `app-worker`, or for another deployment on the same services (the tests', in a
 * namespace of their own) `app-<namespace>-worker`, so that neither takes the other's processes for its own.
 */
function fileName(env: Pick<Env, 'TEMPORAL_NAMESPACE'>, p: AppProcess): string {
  return env.TEMPORAL_NAMESPACE === 'default' ? `app-${p.name}` : `app-${env.TEMPORAL_NAMESPACE}-${p.name}`;
}

function files(env: Env, p: AppProcess) {
  const paths = stackPaths(env);
  const name = fileName(env, p);
  return { logFile: join(paths.logs, `${name}.log`), pidFile: join(paths.run, `${name}.pid`) };
}

async function waitForReady(
  p: AppProcess,
  logFile: string,
  fromByte: number,
  pid: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = readFrom(logFile, fromByte);
    if (p.ready.test(text)) return;
    if (!stillRunning(pid)) {
      throw new Error(
        `${p.name} exited while starting; the end of ${logFile}:\n${text.split('\n').slice(-25).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${p.name} did not report ready within ${timeoutMs / 1000}s; see ${logFile}`);
}

/**
 * Starts the application processes that are not running; returns once all are ready. `processEnv` is their
 * environment (default this process's): a stack other than the configured one passes its variables.
 */
export async function startApp(
  env: Env,
  progress: Progress,
  options: { processEnv?: NodeJS.ProcessEnv; only?: string[] } = {},
): Promise<void> {
  ensureDirs(stackPaths(env));
  await Promise.all(
    appProcessesOf(env).map(async (p) => {
      if (options.only && !options.only.includes(p.name)) return;
      const { logFile, pidFile } = files(env, p);
      if (ownedPid(pidFile, marker(p)) !== null) return;
      removeFile(pidFile);
      const from = existsSync(logFile) ? statSync(logFile).size : 0;
      const command = [process.execPath, bin, ...p.args, ...(p.extraArgs?.(env) ?? [])];
      // On a machine of the cluster topology: in its group before it starts anything (src/stack/cgroups.ts).
      const prefix = p.machine
        ? (cgroupExecPrefix(machineCgroup(p.machine.index, fileName(env, p))) ?? [])
        : [];
      const [executable, ...args] = [...prefix, ...command];
      const pid = spawnDetached({
        command: executable!,
        args,
        cwd: repoRoot,
        // Under its supervisor (bin/supervise.js), which starts it again if it crashes.
        env: {
          ...componentProcessEnv(p.component, options.processEnv),
          ...machineProcessEnv(env, p.machine),
          PRISM_SUPERVISE: '1',
        },
        logFile,
        pidFile,
      });
      progress.step(`starting ${p.name} (pid ${pid}, log ${logFile})`);
      await waitForReady(p, logFile, from, pid, 120_000);
      progress.step(`${p.name} is ready`);
    }),
  );
}

export async function stopApp(env: Env, progress: Progress): Promise<string[]> {
  const stopped: string[] = [];
  await Promise.all(
    appProcessesOf(env).map(async (p) => {
      const { pidFile } = files(env, p);
      const pid = ownedPid(pidFile, marker(p));
      if (pid !== null) {
        progress.step(`stopping ${p.name} (pid ${pid})`);
        await stopProcess(pid, 20_000);
        stopped.push(p.name);
      }
      removeFile(pidFile);
    }),
  );
  return stopped;
}

/**
 * Stops one application process by its pid (SIGTERM, SIGKILL after `graceMs`) and starts it again with the
 * same configuration, returning once it reports ready (`prism stack restart worker`): its pid before and
 * after.
 */
export async function restartAppProcess(
  env: Env,
  name: string,
  progress: Progress,
  options: { graceMs?: number } = {},
): Promise<{ before: number | null; after: number | null }> {
  const p = appProcessesOf(env).find((a) => a.name === name);
  if (!p) throw new PrismError('UNKNOWN_SERVICE', `prism up starts no process named ${name}`);
  const { pidFile } = files(env, p);
  const before = ownedPid(pidFile, marker(p));
  if (before !== null) {
    progress.step(`stopping ${p.name} (pid ${before})`);
    await stopProcess(before, options.graceMs ?? 20_000);
  }
  removeFile(pidFile);
  await startApp(env, progress, { only: [p.name] });
  return { before, after: ownedPid(pidFile, marker(p)) };
}

export function appStatus(env: Env): { name: string; pid: number | null; logFile: string }[] {
  return appProcessesOf(env).map((p) => {
    const { logFile, pidFile } = files(env, p);
    return { name: p.name, pid: ownedPid(pidFile, marker(p)), logFile };
  });
}

export async function systemUp(
  env: Env,
  progress: Progress,
  options: { clean?: boolean; demo?: boolean } = {},
) {
  const services = await stackUp(env, progress, { clean: options.clean });
  const down = services.filter((s) => !s.healthy);
  if (down.length)
    throw new Error(`services not healthy: ${down.map((s) => `${s.name} (${s.error})`).join(', ')}`);
  const applied = await progress.track('Migrating the database', () => migrate(env));
  if (applied.length) progress.step(`applied migrations: ${applied.join(', ')}`);
  await progress.track('Provisioning topics, collections, bucket and roles', () =>
    provisionAll(env, progress),
  );
  if (options.demo !== false)
    await progress.track('Loading the demo data set', () => loadDemoData(env, progress));
  await startApp(env, progress);
}
