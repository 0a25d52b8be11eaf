// `prism chaos`: faults injected into a running system under a steady load, one at a time, each measured
// from the stores. For every target (the worker, each agent, the API, Temporal, Kafka, Redis, PostgreSQL,
// Weaviate, InfluxDB) and mode (kill -9 then restart, or SIGSTOP then SIGCONT): load for a while, the
// fault, the target back, load for a while longer, then every task submitted in that window must have
// ended — completed, nothing lost, nothing twice, no user error — and the throughput must be back.
import { randomUUID } from 'node:crypto';
import { appStatus, stopApp, startApp } from '../app/index.ts';
import { issueApiKey, revokeKey } from '../api/keys.ts';
import { createKafka } from '../clients/kafka.ts';
import { connectTemporal } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { createPrisma } from '../db/prisma.ts';
import { deleteTasksByRequestId } from '../stores/postgres/tasks.ts';
import type { Progress } from '../progress.ts';
import { resolveMode } from '../stack/index.ts';
import { clusterMachines, isCluster } from '../stack/topology.ts';
import {
  clusterPlan,
  clusterReady,
  clusterTargetPids,
  clusterTargetProblem,
  clusterTargetReady,
  resolveClusterTarget,
  restartCluster,
  restartClusterTarget,
  type ClusterTarget,
} from './cluster.ts';
import { heal, partition } from './partition.ts';
import { retryTransient } from '../retry.ts';
import { startLoad, type LoadTask } from './load.ts';
import { storedEffects, topicOffsets } from './measure.ts';
import {
  componentName,
  componentPattern,
  faultTargets,
  processTree,
  restartTarget,
  signalTree,
  targetPid,
  targetReady,
  waitGone,
  type FaultMode,
  type FaultTarget,
} from './targets.ts';

export { faultModes, faultTargets, type FaultMode, type FaultTarget } from './targets.ts';

export interface ChaosOptions {
  faults: FaultTarget[];
  modes: FaultMode[];
  /**
   * The faults in this order instead of every target in every mode; on the cluster topology, its targets
   * (src/chaos/cluster.ts: `kafka-leader`, `postgres-2`, `machine-3`, `worker-1`), by default clusterPlan().
   */
  plan?: { target: string; mode: FaultMode }[];
  /** Tasks in flight at once. */
  concurrency: number;
  /** Steady load before each fault, seconds. */
  warmupSec: number;
  /** How long a killed target stays down before it is started again, seconds. */
  killSec: number;
  /** How long a frozen target stays stopped (longer than its clients' timeouts), seconds. */
  freezeSec: number;
  /** Load after the target is back, seconds. */
  recoverySec: number;
  /** A task not ended this long after the load stopped is stuck, seconds. */
  settleSec: number;
  /** Each task's agentTimeoutMs: faults shorter than this must fail no task. */
  agentTimeoutMs: number;
  keepData?: boolean;
}

export const defaultChaosOptions: ChaosOptions = {
  faults: [...faultTargets],
  modes: ['kill', 'freeze'],
  concurrency: 8,
  warmupSec: 10,
  killSec: 12,
  freezeSec: 35,
  recoverySec: 20,
  settleSec: 150,
  agentTimeoutMs: 60_000,
};

export interface FaultResult {
  /** What was hit: a target, or on the cluster topology what it was then (`kafka-leader (kafka-2)`). */
  target: string;
  mode: FaultMode;
  component: string;
  /** Fault injected → target serving again (restarted and ready, or resumed), seconds. */
  downSec: number;
  /** Target back → completions back to half the rate before the fault (5 s window), seconds; null: never. */
  recoverSec: number | null;
  /** Completions per second before the fault. */
  baselinePerSec: number;
  submitted: number;
  completed: number;
  failed: number;
  /** Submitted, and no task exists for the request. */
  lost: number;
  /** A task exists and has not ended `settleSec` after the load stopped. */
  stuck: number;
  duplicated: { history: number; kafkaEvents: number; metricPoints: number; total: number };
  /** Same-id copies of a message on Kafka (deduped by every consumer): not duplicates, shown for scale. */
  redelivered: number;
  missingMetrics: number;
  /** Errors the load's users got from their client (the Temporal client, the SDK), by message. */
  userErrors: { count: number; messages: { message: string; count: number }[] };
  /** Why tasks failed, by reason. */
  failures: { reason: string; count: number }[];
  /** Whether every failure's reason names the component that was down (allowed only for longer outages). */
  failuresNameComponent: boolean;
  ok: boolean;
  problems: string[];
}

export interface ChaosReport {
  runId: string;
  options: ChaosOptions;
  startedAt: string;
  faults: FaultResult[];
  ok: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function byCount(values: string[]): { message: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 5);
}

/** Seconds from `fromMs` until completions over 5 s reach half the baseline rate; null if they never do. */
function recoveryAfter(completedAtMs: number[], fromMs: number, untilMs: number, baselinePerSec: number) {
  if (baselinePerSec <= 0) return 0;
  const windowMs = 5_000;
  const needed = Math.max(1, Math.ceil(0.5 * baselinePerSec * (windowMs / 1000)));
  const sorted = [...completedAtMs].sort((a, b) => a - b);
  for (let t = fromMs; t <= untilMs; t += 250) {
    if (sorted.filter((c) => c > t - windowMs && c <= t).length >= needed) {
      return Math.round((t - fromMs) / 100) / 10;
    }
  }
  return null;
}

async function waitClusterTargetReady(env: Env, t: ClusterTarget, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await clusterTargetReady(env, t).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${t.label} did not come back within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

async function waitReady(env: Env, target: FaultTarget, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await targetReady(env, target).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${target} did not come back within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

export async function runChaos(
  env: Env,
  options: ChaosOptions,
  progress: Progress,
  context: { processEnv?: NodeJS.ProcessEnv } = {},
): Promise<ChaosReport> {
  if ((await resolveMode(env)) !== 'native') {
    throw new Error(
      'prism chaos injects faults into the processes of the native stack (`prism stack up --native`); ' +
        'under Docker Compose, use `docker compose kill -s KILL <service>` and `docker compose up -d`',
    );
  }
  const runId = randomUUID().slice(0, 8);
  const startedAt = new Date().toISOString();
  const { processEnv } = context;
  const apps = appStatus(env);
  const notRunning = apps.filter((p) => p.pid === null).map((p) => p.name);
  // Started here from nothing: stopped here at the end. (Started over a partly running system: left up.)
  const ownsApp = notRunning.length === apps.length;
  if (notRunning.length > 0) {
    progress.step(`starting what \`prism up\` would run and is not running: ${notRunning.join(', ')}`);
    await startApp(env, progress, { processEnv });
  }
  const cluster = isCluster(env);
  if (cluster) {
    const { down } = await clusterReady(env);
    if (down.length)
      throw new Error(
        `not running or not ready: ${down.join(', ')}; start the cluster with \`prism up --topology cluster\` first`,
      );
  } else {
    for (const target of new Set([...options.faults, ...faultTargets])) {
      if (!(await targetReady(env, target)))
        throw new Error(`${target} is not running or not ready: start the system with \`prism up\` first`);
    }
  }

  const prisma = createPrisma(env, { poolSize: 4 });
  const kafka = createKafka(env);
  const temporal = await connectTemporal(env);
  const issued = await issueApiKey(prisma, {
    username: 'prism-chaos',
    role: 'operator',
    name: `chaos ${runId}`,
  });
  // The API the load goes through: this machine's, or on the cluster topology the first machine's (the
  // default plan takes machines 2 and 3 down, never the one the load enters by).
  const host = cluster
    ? clusterMachines(env)[0]!.address
    : env.PRISM_BIND_ADDRESS === '0.0.0.0'
      ? '127.0.0.1'
      : env.PRISM_BIND_ADDRESS;
  const faults: FaultResult[] = [];
  const plan =
    options.plan ??
    (cluster
      ? clusterPlan()
      : options.faults.flatMap((target) => options.modes.map((mode) => ({ target, mode }))));
  for (const { target, mode } of plan) {
    if (mode === 'partition' && !cluster)
      throw new Error(`partition ${target}: a partition needs the cluster topology (--topology cluster)`);
    if (cluster && !target.endsWith('-leader')) {
      const problem = clusterTargetProblem(env, target);
      if (problem) throw new Error(problem);
    }
  }
  const verb = { kill: 'kill -9', freeze: 'freeze', partition: 'partition' } as const;
  try {
    for (const [k, { target, mode }] of plan.entries()) {
      const label = `fault ${k + 1}/${plan.length}: ${verb[mode]} ${target}`;
      // Between faults: everything up (a restart that did not take would blame the next fault).
      if (cluster) {
        const { down } = await clusterReady(env);
        if (down.length) {
          progress.step(`${down.join(', ')} not ready before ${label}: starting them`);
          await restartCluster(env, progress, processEnv);
        }
      } else {
        for (const t of faultTargets) {
          if (!(await targetReady(env, t).catch(() => false))) {
            progress.step(`${t} is not ready before ${label}: starting it`);
            await restartTarget(env, t, progress, processEnv);
          }
        }
      }
      const prefix = `chaos-${runId}-${k}`;
      const offsets = await topicOffsets(kafka);
      const t0 = Date.now();
      const load = startLoad({
        env,
        temporal,
        api: { baseUrl: `http://${host}:${env.API_PORT}`, apiKey: issued.key },
        concurrency: options.concurrency,
        requestPrefix: prefix,
        agentTimeoutMs: options.agentTimeoutMs,
        waitTimeoutMs: (options.settleSec + options.recoverySec) * 1000,
      });
      progress.step(`${label}: steady load (${options.concurrency} in flight) for ${options.warmupSec} s`);
      await sleep(options.warmupSec * 1000);

      // What the target is now (on the cluster topology a leader is whichever node leads at this moment).
      const resolved = cluster ? await resolveClusterTarget(env, target) : null;
      const pids = resolved
        ? clusterTargetPids(env, resolved)
        : [targetPid(env, target as FaultTarget)].filter((p): p is number => p !== null);
      if (pids.length === 0) throw new Error(`${target} has no running process to ${mode}`);
      const tree = [...new Set(pids.flatMap(processTree))];
      const what = resolved?.label ?? target;
      const injectedAt = Date.now();
      if (mode === 'kill') {
        signalTree(tree, 'SIGKILL');
        await waitGone(tree);
        progress.step(`${label}: killed ${what} (${tree.length} process(es)); down for ${options.killSec} s`);
        await sleep(options.killSec * 1000);
        if (resolved) await restartClusterTarget(env, resolved, progress, processEnv);
        else await restartTarget(env, target as FaultTarget, progress, processEnv);
      } else if (mode === 'freeze') {
        signalTree(tree, 'SIGSTOP');
        progress.step(`${label}: stopped ${what} (${tree.length} process(es)) for ${options.freezeSec} s`);
        try {
          await sleep(options.freezeSec * 1000);
        } finally {
          signalTree(tree, 'SIGCONT');
        }
      } else {
        if (!resolved?.cut)
          throw new Error(`partition ${target}: a partition cuts off a node or a machine, not a process`);
        await partition(resolved.cut);
        progress.step(`${label}: cut ${what} off from the others for ${options.freezeSec} s`);
        try {
          await sleep(options.freezeSec * 1000);
        } finally {
          await heal();
        }
      }
      if (resolved) await waitClusterTargetReady(env, resolved);
      else await waitReady(env, target as FaultTarget);
      const backAt = Date.now();
      const downSec = Math.round((backAt - injectedAt) / 100) / 10;
      progress.step(`${label}: back after ${downSec} s; load for ${options.recoverySec} s more`);
      await sleep(options.recoverySec * 1000);
      const stoppedAt = Date.now();
      const stopped = load.stop();
      await Promise.race([stopped, sleep(options.settleSec * 1000)]);
      // A task not ended by now is stuck: its wait is given up, so that no client call outlives the run (a
      // long poll retried after the connection closed threw out of a timer and ended the command).
      load.abandon();
      // What the stores say, once the load has stopped and what was in flight has ended (or is stuck).
      // Read once the stores answer again: a fault's failover may still be settling (a new primary).
      const stored = await retryTransient(
        () => storedEffects(env, { prisma, kafka }, prefix, { ms: t0, offsets }),
        { component: 'the stores (measuring)', target: 'PostgreSQL, Kafka', maxWaitMs: 120_000 },
      );
      const completedAt = stored.tasks.flatMap((t) =>
        t.status === 'COMPLETED' && t.completedAtMs ? [t.completedAtMs] : [],
      );
      // The rate before the fault, leaving out the first seconds while the lanes fill.
      const baselineFrom = t0 + 3_000;
      const baselinePerSec =
        completedAt.filter((c) => c > baselineFrom && c <= injectedAt).length /
        Math.max(1, (injectedAt - baselineFrom) / 1000);
      faults.push(
        judge({
          target: what,
          component: resolved ? resolved.component : componentName[target as FaultTarget],
          pattern: resolved ? resolved.pattern : componentPattern[target as FaultTarget],
          mode,
          options,
          tasks: load.tasks,
          stored,
          downSec,
          baselinePerSec,
          recoverSec: recoveryAfter(completedAt, backAt, stoppedAt, baselinePerSec),
        }),
      );
      progress.step(`${label}: ${summaryLine(faults.at(-1)!)}`);
    }
  } finally {
    await revokeKey(prisma, issued.keyId).catch(() => undefined);
    if (!options.keepData) {
      const { count } = await deleteTasksByRequestId(prisma, { startsWith: `chaos-${runId}-` }).catch(() => ({
        count: 0,
      }));
      progress.step(`removed the ${count} chaos tasks from PostgreSQL (--keep-data keeps them)`);
    }
    await Promise.allSettled([temporal.connection.close(), prisma.$disconnect()]);
    if (ownsApp) await stopApp(env, progress);
  }
  return { runId, options, startedAt, faults, ok: faults.every((f) => f.ok) };
}

function judge(x: {
  target: string;
  component: string;
  pattern: RegExp;
  mode: FaultMode;
  options: ChaosOptions;
  tasks: LoadTask[];
  stored: Awaited<ReturnType<typeof storedEffects>>;
  downSec: number;
  baselinePerSec: number;
  recoverSec: number | null;
}): FaultResult {
  const { stored } = x;
  const byRequest = new Map(stored.tasks.map((t) => [t.requestId, t]));
  const lost = x.tasks.filter((t) => !byRequest.has(t.requestId)).length;
  const ended = (s: string) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s);
  const stuck = stored.tasks.filter((t) => !ended(t.status)).length;
  const failedTasks = stored.tasks.filter((t) => t.status !== 'COMPLETED' && ended(t.status));
  const userErrors = x.tasks.flatMap((t) => (t.userError ? [t.userError] : []));
  const duplicated = { ...stored.duplicated, total: 0 };
  duplicated.total = duplicated.history + duplicated.kafkaEvents + duplicated.metricPoints;
  const failuresNameComponent = failedTasks.every((t) => x.pattern.test(t.error ?? ''));
  // An outage as long as a task's own timeout may fail tasks, provided each says what was down.
  const mayFail = x.downSec * 1000 >= x.options.agentTimeoutMs;
  const problems = [
    lost && `${lost} lost`,
    stuck && `${stuck} stuck`,
    duplicated.total && `${duplicated.total} duplicated`,
    failedTasks.length && !mayFail && `${failedTasks.length} failed`,
    failedTasks.length && mayFail && !failuresNameComponent && 'failures do not name the component',
    userErrors.length && `${userErrors.length} user errors`,
    x.recoverSec === null && 'throughput did not recover',
    stored.missingMetrics && `${stored.missingMetrics} tasks without metrics`,
  ].filter((p): p is string => typeof p === 'string');
  return {
    target: x.target,
    mode: x.mode,
    component: x.component,
    downSec: x.downSec,
    recoverSec: x.recoverSec,
    baselinePerSec: Math.round(x.baselinePerSec * 10) / 10,
    submitted: x.tasks.length,
    completed: stored.tasks.filter((t) => t.status === 'COMPLETED').length,
    failed: failedTasks.length,
    lost,
    stuck,
    duplicated,
    redelivered: stored.redelivered,
    missingMetrics: stored.missingMetrics,
    userErrors: { count: userErrors.length, messages: byCount(userErrors) },
    failures: byCount(failedTasks.map((t) => t.error ?? '(no reason)')).map((f) => ({
      reason: f.message,
      count: f.count,
    })),
    failuresNameComponent,
    ok: problems.length === 0,
    problems,
  };
}

function summaryLine(f: FaultResult): string {
  return (
    `${f.submitted} tasks: ${f.completed} completed, ${f.failed} failed, ${f.lost} lost, ${f.stuck} stuck, ` +
    `${f.duplicated.total} duplicated, ${f.userErrors.count} user errors; down ${f.downSec} s, throughput back ` +
    `${f.recoverSec === null ? 'never' : `after ${f.recoverSec} s`} — ${f.ok ? 'OK' : `NOT OK (${f.problems.join(', ')})`}`
  );
}

/** The report as a table, one row per fault, then what went wrong where something did. */
export function formatChaosReport(r: ChaosReport): string {
  const head = [
    'fault',
    'mode',
    'down s',
    'recover s',
    'tasks',
    'completed',
    'failed',
    'lost',
    'stuck',
    'duplicated',
    'redelivered',
    'user errors',
    'bar',
  ];
  const rows = r.faults.map((f) => [
    f.target,
    f.mode,
    f.downSec.toFixed(1),
    f.recoverSec === null ? 'never' : f.recoverSec.toFixed(1),
    String(f.submitted),
    String(f.completed),
    String(f.failed),
    String(f.lost),
    String(f.stuck),
    String(f.duplicated.total),
    String(f.redelivered),
    String(f.userErrors.count),
    f.ok ? 'met' : 'NOT MET',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const details = r.faults
    .filter((f) => !f.ok || f.failures.length || f.userErrors.count)
    .flatMap((f) => [
      `${f.mode} ${f.target}: ${f.problems.join(', ') || 'bar met'}`,
      ...f.failures.map((x) => `  failed ×${x.count}: ${x.reason}`),
      ...f.userErrors.messages.map((x) => `  user error ×${x.count}: ${x.message}`),
    ]);
  return [
    line(head),
    ...rows.map(line),
    '',
    r.ok
      ? `The bar is met for every fault (0 lost, 0 duplicated, 0 stuck, 0 failed, 0 user errors). Run ${r.runId}.`
      : `The bar is NOT met (run ${r.runId}):`,
    ...details,
  ].join('\n');
}
