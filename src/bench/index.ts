// `prism bench`: N agent tasks at concurrency C through the whole running system (Temporal workflow,
// activities, Kafka command, a reference agent, the bridge, every store), then the same store work done
// directly in this process without Temporal — the floor — and the ratio between the two.
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { closeActivityDeps, createActivityDeps, createTaskActivities } from '../../activities/index.ts';
import { createKafka, kafkaName } from '../clients/kafka.ts';
import { connectTemporal } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { withPrisma } from '../db/prisma.ts';
import { deleteTasksByRequestId } from '../stores/postgres/tasks.ts';
import { agentResponseSchema, type AgentResponse, type AgentType } from '../task/index.ts';
import { commandIdFor } from '../task/ids.ts';
import { startTask, waitForTask } from '../task/client.ts';
import { Topic } from '../stores/kafka/topics.ts';
import { parseEnvelope } from '../stores/kafka/envelope.ts';
import type { Progress } from '../progress.ts';
import { stackPaths } from '../stack/paths.ts';
import { tracingFor } from '../tracing.ts';
import { writeDemoSensorSeries } from '../provision/demo.ts';
import { createInfluxWriter } from '../stores/influx/writer.ts';
import { cpuAccountingAvailable, cpuShares, sampleCpu, type CpuShare } from './cpu.ts';
import { monotonicMicros, profileDirFor, summarizeProfiles, type ThreadProfile } from './profile.ts';
import { restartAppProcess } from '../app/index.ts';
import { isCluster } from '../stack/topology.ts';
import { repoRoot } from '../repo.ts';
import { latencyStats, pool, type LatencyStats } from './stats.ts';

export interface BenchOptions {
  tasks: number;
  concurrency: number;
  /**
   * Tasks run through Temporal first, at the same concurrency, and not measured: on a system just started the
   * first few hundred tasks run on cold JIT and caches (docs/performance.md run 19). 0 (the default): none.
   */
  warmup?: number;
  agentType: AgentType;
  parameters: Record<string, unknown>;
  /** Skip the floor measurement. */
  noFloor?: boolean;
  /** Skip the engine measurement (no-op workflows). */
  noEngine?: boolean;
  keepData?: boolean;
  /**
   * Write V8 CPU profiles of the task worker and the agent of `agentType` while the tasks run through Temporal,
   * into a folder of this run under this directory (./profile.ts); the two are restarted for it, and after.
   */
  profileDir?: string;
}

export interface BenchRun {
  tasks: number;
  failed: number;
  wallMs: number;
  throughputPerSec: number;
  endToEnd: LatencyStats;
  steps: Record<string, LatencyStats>;
  /** Where the CPU time went (Linux): per process, per task. Null where /proc is not available. */
  cpu: CpuReport | null;
}

export interface CpuReport {
  /** CPU milliseconds per task, all measured processes together. */
  totalMsPerTask: number;
  /** Average cores busy during the run (of `cores`). */
  coresBusy: number;
  cores: number;
  /** The throughput this machine's cores allow at this CPU cost per task: cores / CPU per task. */
  cpuBoundTasksPerSec: number;
  perProcess: CpuShare[];
}

export interface BenchReport {
  /** Part of every benchmark request id: `bench-<runId>-<i>`, `bench-floor-<runId>-<i>`. */
  runId: string;
  options: BenchOptions;
  temporal: BenchRun;
  floor: BenchRun | null;
  /** No-op workflows at the same concurrency: what Temporal (server and SDK) costs on its own here. */
  engine: BenchRun | null;
  /** Temporal throughput / floor throughput, and floor p50 / Temporal p50. */
  ratio: { throughput: number; p50Latency: number } | null;
  /** The unmeasured tasks run first (`warmup`): how many, how many failed, how long they took. */
  warmup?: { tasks: number; failed: number; wallMs: number; throughputPerSec: number };
  /** With `profileDir`: where the profiles are, and each thread's time over the measurement through Temporal. */
  profile?: { dir: string; threads: ThreadProfile[] };
}

function stepStats(timings: Record<string, number>[]): Record<string, LatencyStats> {
  const byStep = new Map<string, number[]>();
  for (const t of timings) {
    for (const [step, ms] of Object.entries(t)) {
      const name = step.replace(/:.*$/, ''); // dispatch:main -> dispatch
      byStep.set(name, [...(byStep.get(name) ?? []), ms]);
    }
  }
  return Object.fromEntries([...byStep].map(([k, v]) => [k, latencyStats(v)]));
}

function ticker(progress: Progress, label: string, total: number, done: () => number) {
  const start = Date.now();
  const timer = setInterval(() => {
    const d = done();
    progress.step(`${label}: ${d}/${total} done, ${(d / ((Date.now() - start) / 1000)).toFixed(1)} tasks/s`);
  }, 2_000);
  return () => clearInterval(timer);
}

/** Runs `task(i)` for every task at the bench's concurrency; each returns its per-step timings. */
async function measure(
  label: string,
  env: Env,
  o: BenchOptions,
  progress: Progress,
  task: (i: number) => Promise<Record<string, number>>,
): Promise<BenchRun> {
  const runDir = stackPaths(env).run;
  const cpuBefore = cpuAccountingAvailable() ? sampleCpu(runDir) : null;
  const latencies: number[] = [];
  const timings: Record<string, number>[] = [];
  let failed = 0;
  const stop = ticker(progress, label, o.tasks, () => latencies.length + failed);
  const t0 = Date.now();
  try {
    await pool(o.tasks, o.concurrency, async (i) => {
      const start = Date.now();
      try {
        timings.push(await task(i));
        latencies.push(Date.now() - start);
      } catch (err) {
        failed++;
        if (failed <= 3) progress.step(`${label}: task ${i} failed: ${(err as Error).message}`);
      }
    });
  } finally {
    stop();
  }
  const wallMs = Date.now() - t0;
  return {
    tasks: o.tasks,
    failed,
    wallMs,
    throughputPerSec: (latencies.length / wallMs) * 1000,
    endToEnd: latencyStats(latencies),
    steps: stepStats(timings),
    cpu: cpuBefore
      ? cpuReport(cpuShares(cpuBefore, sampleCpu(runDir), latencies.length), wallMs, latencies.length)
      : null,
  };
}

function cpuReport(perProcess: CpuShare[], wallMs: number, tasks: number): CpuReport {
  const totalMsPerTask = Math.round(perProcess.reduce((s, p) => s + p.msPerTask, 0) * 10) / 10;
  const cores = availableParallelism();
  return {
    totalMsPerTask,
    coresBusy: Math.round(((totalMsPerTask * tasks) / wallMs) * 100) / 100,
    cores,
    cpuBoundTasksPerSec: totalMsPerTask > 0 ? Math.round((cores * 1000 * 10) / totalMsPerTask) / 10 : 0,
    perProcess,
  };
}

async function runThroughTemporal(
  env: Env,
  o: BenchOptions,
  runId: string,
  progress: Progress,
  label = 'through Temporal',
): Promise<BenchRun> {
  // A client as the API's and the ingress's: with tracing on, each task's trace starts at its start, sampled
  // as OTEL_TRACES_SAMPLER says (a run started without a trace context has every span kept).
  const tracing = tracingFor(env, 'prism-bench');
  const client = await connectTemporal(env, { tracing });
  try {
    return await measure(label, env, o, progress, async (i) => {
      const { workflowId } = await startTask(client, env, {
        requestId: `bench-${runId}-${i}`,
        query: `benchmark task ${i}`,
        agentType: o.agentType,
        parameters: o.parameters,
        agentTimeoutMs: 60_000,
      });
      const outcome = await waitForTask(client, workflowId);
      if (outcome.status !== 'COMPLETED') throw new Error(outcome.error ?? outcome.status);
      return outcome.timings;
    });
  } finally {
    await client.connection.close();
    await tracing.flush();
  }
}

/** The engine alone: no-op workflows on the worker's task queue, each started and its result awaited. */
async function runEngine(env: Env, o: BenchOptions, runId: string, progress: Progress): Promise<BenchRun> {
  const client = await connectTemporal(env);
  try {
    return await measure('engine (no-op workflows)', env, o, progress, async (i) => {
      await client.workflow.execute('benchNoop', {
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        workflowId: `bench-noop-${runId}-${i}`,
        args: [],
      });
      return {};
    });
  } finally {
    await client.connection.close();
  }
}

/** The floor: the activities called directly, with the agent round trip over Kafka, no Temporal. */
async function runFloor(env: Env, o: BenchOptions, runId: string, progress: Progress): Promise<BenchRun> {
  const deps = await createActivityDeps(env);
  const activities = createTaskActivities(deps);
  const waiting = new Map<string, (r: AgentResponse) => void>();
  const kafka = createKafka(env);
  const groupId = kafkaName(kafka, `bench-floor-${runId}`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: kafkaName(kafka, Topic.OrchestrationResponses), fromBeginning: false });
  // Answers sent before this group owns its partitions would be missed: start the tasks once it has joined.
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachMessage: async ({ message }) => {
      const parsed = parseEnvelope(message.value);
      if (!parsed.ok || parsed.envelope.type !== 'agent.response') return;
      const response = agentResponseSchema.safeParse(parsed.envelope.payload);
      if (response.success) waiting.get(response.data.commandId)?.(response.data);
    },
  });
  await joined;
  // The group starts at the partitions' end offsets, resolved on its first fetch.
  await new Promise((r) => setTimeout(r, 1_000));
  try {
    return await measure('floor (no Temporal)', env, o, progress, async (i) => {
      const start = Date.now();
      const time = async <T>(name: string, t: Record<string, number>, work: () => Promise<T>) => {
        const s = Date.now();
        try {
          return await work();
        } finally {
          t[name] = Date.now() - s;
        }
      };
      const t: Record<string, number> = {};
      const workflowId = `floor-bench-floor-${runId}-${i}`;
      const { taskId, request, plan } = await time('createTask', t, () =>
        activities.createTask({
          request: {
            requestId: `bench-floor-${runId}-${i}`,
            query: `benchmark task ${i}`,
            agentType: o.agentType,
            parameters: o.parameters,
          },
          workflowId,
        }),
      );
      const step = plan[0]!;
      // Wait for the answer before sending the command: a fast agent can answer before dispatch returns.
      const commandId = commandIdFor(taskId, step.key);
      const answered = new Promise<AgentResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(commandId);
          reject(new Error('no answer within 60 s'));
        }, 60_000);
        waiting.set(commandId, (r) => {
          clearTimeout(timer);
          waiting.delete(commandId);
          resolve(r);
        });
      });
      const knowledge = await time('knowledge', t, () =>
        activities.searchKnowledge({ taskId, stepKey: step.key, text: request.query }),
      );
      const answer = await time('agent', t, async () => {
        await time('dispatch', t, () =>
          activities.dispatchCommand({
            taskId,
            workflowId,
            step,
            instruction: request.query,
            parameters: request.parameters,
            knowledge: knowledge.hits,
            upstream: {},
            deadlineAt: new Date(Date.now() + 60_000).toISOString(),
          }),
        );
        return answered;
      });
      await time('recordStep', t, () =>
        activities.recordStepResult({ taskId, stepKey: step.key, response: answer }),
      );
      await time('recordResult', t, () =>
        activities.recordResult({
          taskId,
          workflowId,
          status: 'COMPLETED',
          results: { [step.key]: answer },
        }),
      );
      await time('recordMetrics', t, () =>
        activities.recordMetrics({
          taskId,
          agentType: o.agentType,
          status: 'COMPLETED',
          timings: t,
          durationMs: Date.now() - start,
          startedAtMs: start,
        }),
      );
      return t;
    });
  } finally {
    await consumer.disconnect();
    await closeActivityDeps(deps);
    // The group was this run's alone: leave nothing behind in Kafka.
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function runBench(env: Env, options: BenchOptions, progress: Progress): Promise<BenchReport> {
  const runId = randomUUID().slice(0, 8);
  progress.step(
    `${options.tasks} ${options.agentType} tasks at concurrency ${options.concurrency} (run ${runId})`,
  );
  if (options.agentType === 'MONITORING' || options.agentType === 'PREDICTION') {
    // Their tasks read the last hour of the machine's readings: the demo series, written again now.
    const writer = createInfluxWriter(env);
    try {
      await writeDemoSensorSeries(writer, [options.parameters.machine as string]);
    } finally {
      await writer.close();
    }
    progress.step(
      `wrote the last hour of ${String(options.parameters.machine)}'s demo readings, which the tasks read`,
    );
  }
  const profiled = options.profileDir ? await startProfiling(env, options, runId, progress) : null;
  let warmup: BenchRun | undefined;
  let fromUs: number;
  let temporal: BenchRun;
  try {
    // After a profiled restart too (its processes start cold), and outside the profiles' window. Warm-up
    // tasks are the run's (request ids bench-<runId>w-<i>), so they are removed with the others.
    if (options.warmup) {
      warmup = await runThroughTemporal(
        env,
        { ...options, tasks: options.warmup },
        `${runId}w`,
        progress,
        'warm-up',
      );
      progress.step(
        `warm-up: ${warmup.tasks - warmup.failed}/${warmup.tasks} tasks in ${(warmup.wallMs / 1000).toFixed(1)} s ` +
          `(${warmup.throughputPerSec.toFixed(1)} tasks/s), not measured`,
      );
    }
    fromUs = monotonicMicros();
    temporal = await runThroughTemporal(env, options, runId, progress);
  } finally {
    if (profiled) await profiled.stop();
  }
  const toUs = monotonicMicros();
  const profile = profiled
    ? {
        dir: profiled.dir,
        threads: summarizeProfiles(
          profiled.dir,
          { fromUs, toUs },
          temporal.tasks - temporal.failed,
          repoRoot,
        ),
      }
    : undefined;
  const floor = options.noFloor ? null : await runFloor(env, options, runId, progress);
  const engine = options.noEngine ? null : await runEngine(env, options, runId, progress);
  if (!options.keepData) {
    const { count } = await withPrisma(env, (prisma) =>
      deleteTasksByRequestId(prisma, { startsWith: `bench-`, contains: runId }),
    );
    progress.step(`removed the ${count} benchmark tasks from PostgreSQL (--keep-data keeps them)`);
  }
  const ratio = floor
    ? {
        throughput: temporal.throughputPerSec / Math.max(floor.throughputPerSec, 1e-9),
        p50Latency: floor.endToEnd.p50 / Math.max(temporal.endToEnd.p50, 1e-9),
      }
    : null;
  return {
    runId,
    options,
    temporal,
    floor,
    engine,
    ratio,
    ...(warmup
      ? {
          warmup: {
            tasks: warmup.tasks,
            failed: warmup.failed,
            wallMs: warmup.wallMs,
            throughputPerSec: warmup.throughputPerSec,
          },
        }
      : {}),
    ...(profile ? { profile } : {}),
  };
}

/**
 * Restarts the task worker and the bench's agent with node's CPU profiler on (bin/supervise.js reads
 * PRISM_CPU_PROFILE_DIR from the environment it is started with); `stop` restarts them without it, and
 * so makes them write their profiles.
 */
async function startProfiling(env: Env, o: BenchOptions, runId: string, progress: Progress) {
  if (isCluster(env))
    throw new Error(
      "--profile runs on the single topology: restart one machine's processes by hand to profile them",
    );
  const dir = profileDirFor(o.profileDir!, runId);
  const processes = ['worker', `agent-${o.agentType.toLowerCase()}`];
  const restartAll = async () => {
    for (const name of processes) await restartAppProcess(env, name, progress);
  };
  process.env.PRISM_CPU_PROFILE_DIR = dir;
  try {
    progress.step(`restarting ${processes.join(' and ')} with the CPU profiler (profiles in ${dir})`);
    await restartAll();
  } finally {
    delete process.env.PRISM_CPU_PROFILE_DIR;
  }
  return {
    dir,
    stop: async () => {
      progress.step(`restarting ${processes.join(' and ')} without the profiler (each writes its profiles)`);
      await restartAll();
    },
  };
}

export function formatReport(r: BenchReport): string {
  const row = (name: string, s: LatencyStats) =>
    `  ${name.padEnd(14)} p50 ${String(s.p50).padStart(5)} ms  p95 ${String(s.p95).padStart(5)} ms  p99 ${String(s.p99).padStart(5)} ms  max ${String(s.max).padStart(5)} ms`;
  const run = (title: string, b: BenchRun) =>
    [
      `${title}: ${b.tasks - b.failed}/${b.tasks} tasks in ${(b.wallMs / 1000).toFixed(1)} s = ${b.throughputPerSec.toFixed(1)} tasks/s${b.failed ? ` (${b.failed} failed)` : ''}`,
      row('end to end', b.endToEnd),
      ...Object.entries(b.steps).map(([k, s]) => row(k, s)),
      ...(b.cpu ? cpuLines(b.cpu) : []),
    ].join('\n');
  const warm = r.warmup
    ? ` (after ${r.warmup.tasks} warm-up tasks, not measured${r.warmup.failed ? `, ${r.warmup.failed} of them failed` : ''})`
    : '';
  return [
    run(`Through Temporal${warm}`, r.temporal),
    ...(r.floor ? ['', run('Floor: the same store work without Temporal', r.floor)] : []),
    ...(r.engine
      ? ['', run('Engine: no-op workflows, the cost of Temporal alone (server and SDK) here', r.engine)]
      : []),
    ...(r.ratio
      ? [
          '',
          `Ratio: throughput ${(r.ratio.throughput * 100).toFixed(0)}% of the floor; p50 latency ${(1 / r.ratio.p50Latency).toFixed(2)}x the floor's`,
        ]
      : []),
    ...(r.profile ? ['', ...profileLines(r.profile)] : []),
    ...(r.engine
      ? [
          `Engine: no-op workflows alone reach ${r.engine.throughputPerSec.toFixed(1)} tasks/s here; the task flow ` +
            `${((r.temporal.throughputPerSec / Math.max(r.engine.throughputPerSec, 1e-9)) * 100).toFixed(0)}% of that`,
        ]
      : []),
  ].join('\n');
}

function cpuLines(c: CpuReport): string[] {
  return [
    `  CPU: ${c.totalMsPerTask} ms per task over all processes, ${c.coresBusy} of ${c.cores} cores busy on average` +
      ` (at this cost the cores allow ~${c.cpuBoundTasksPerSec} tasks/s)`,
    ...c.perProcess
      .filter((p) => p.msPerTask >= 0.5)
      .map(
        (p) =>
          `    ${p.name.padEnd(22)} ${p.msPerTask.toFixed(1).padStart(6)} ms/task  ${(p.share * 100).toFixed(0).padStart(3)}%`,
      ),
  ];
}

function profileLines(p: NonNullable<BenchReport['profile']>): string[] {
  return [
    `CPU profiles (${p.dir}), while the tasks ran through Temporal — per thread, the time it was not idle, per task:`,
    ...p.threads.flatMap((t) => [
      `  pid ${t.pid} thread ${t.thread}: ${t.busyMsPerTask} ms/task  (${t.file.split('/').at(-1)})`,
      `    by package:  ${t.byPackage
        .slice(0, 8)
        .map((x) => `${x.name} ${(x.share * 100).toFixed(0)}%`)
        .join(', ')}`,
      ...t.byFunction.slice(0, 8).map((f) => `    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`),
    ]),
  ];
}
