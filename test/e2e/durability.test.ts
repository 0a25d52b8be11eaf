// Durability: the worker killed with SIGKILL in the middle of a task, and a Kafka agent killed before it
// answers. Each time the task still ends right, and each effect exists exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { acceptTaskRequest } from '../../activities/task.ts';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import {
  agentResponseSignal,
  planOf,
  workflowIdFor,
  workflowType,
  type TaskOutcome,
} from '../../src/task/index.ts';
import { commandIdFor, taskIdFor } from '../../src/task/ids.ts';
import { liveTask, startTask, waitForTask } from '../../src/task/client.ts';
import { workflowsPath, type RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker, waitFor } from './support.ts';

/** A `prism` command as a child process of its own, so that it can be killed like a crashed server. */
function prism(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['bin/prism.js', ...args], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
  Object.defineProperty(child, 'output', { get: () => output });
  return child;
}
const outputOf = (child: ChildProcess) => (child as ChildProcess & { output: string }).output;
const ready = (child: ChildProcess, pattern = /\bready\b/i) =>
  waitFor(
    `${child.spawnargs.slice(2).join(' ')} to be ready`,
    async () => pattern.test(outputOf(child)),
    120_000,
  );
function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('durability', () => {
  const prisma = createPrisma(env);
  let temporal: Client;
  const requestIds: string[] = [];
  const agentIds: string[] = [];
  const children: ChildProcess[] = [];
  const running: { stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    temporal = await connectTemporal(env);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map(kill));
    await Promise.all(running.splice(0).map((r) => r.stop()));
  }, 60_000);
  afterAll(async () => {
    await temporal.connection.close();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: { in: agentIds } } });
    await prisma.$disconnect();
  });
  const newRequestId = (what: string) => {
    const id = testId(what);
    requestIds.push(id);
    return id;
  };
  const historyKeys = async (requestId: string) =>
    (
      await prisma.taskHistory.findMany({ where: { taskId: taskIdFor(requestId) }, orderBy: { id: 'asc' } })
    ).map((h) => h.eventKey);

  it('finishes a task whose worker was killed mid-task, each effect once', async () => {
    // A slow PREDICTION agent that counts how often it is asked to do the work.
    const calls = new Map<string, number>();
    const agentId = `durable-prediction-${randomUUID().slice(0, 8)}`;
    agentIds.push(agentId);
    const agent: RunningAgent = await runKafkaAgent({
      type: 'PREDICTION',
      env,
      agentId,
      log: silentLogger,
      handler: async (command) => {
        calls.set(command.commandId, (calls.get(command.commandId) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 3_000));
        return { forecast: [1, 2, 3] };
      },
    });
    running.push(agent);
    const metricsPort = String(20_000 + Math.floor(Math.random() * 10_000));
    const first = prism(['worker', '--no-ingress'], { WORKER_METRICS_PORT: metricsPort });
    children.push(first);
    await ready(first);

    const requestId = newRequestId('killworker');
    const { workflowId } = await startTask(temporal, env, {
      requestId,
      query: 'forecast vibration',
      agentType: 'PREDICTION',
    });
    await waitFor('the command to be sent', async () =>
      (await historyKeys(requestId)).includes('command-sent:main'),
    );
    await kill(first); // SIGKILL: no graceful shutdown, nothing flushed

    const second = prism(['worker', '--no-ingress'], { WORKER_METRICS_PORT: metricsPort });
    children.push(second);
    await ready(second);
    const outcome: TaskOutcome = await waitForTask(temporal, workflowId);

    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main!.result).toEqual({ forecast: [1, 2, 3] });
    expect(calls.get(commandIdFor(taskIdFor(requestId), 'main'))).toBe(1);
    expect(await historyKeys(requestId)).toEqual([
      'created',
      'status:ACTIVE',
      'command-sent:main',
      'response:main',
      'status:COMPLETED',
    ]);
    expect(await prisma.agentSubtask.count({ where: { plan: { taskId: taskIdFor(requestId) } } })).toBe(1);
    expect(await prisma.executionPlan.count({ where: { taskId: taskIdFor(requestId) } })).toBe(1);
  }, 240_000);

  it('waits for a Kafka agent that was killed before answering, and completes when it is back', async () => {
    const worker: RunningWorker = await startTestWorker();
    running.push(worker);
    const agentId = `durable-control-${randomUUID().slice(0, 8)}`;
    agentIds.push(agentId);
    const agentArgs = ['agent', 'run', '--type', 'CONTROL', '--id', agentId];
    const doomed = prism(agentArgs);
    children.push(doomed);
    await ready(doomed);
    await kill(doomed); // the agent dies; its partitions stay with the dead member until Kafka notices

    const requestId = newRequestId('killagent');
    const { workflowId } = await startTask(temporal, env, {
      requestId,
      query: 'raise the spindle speed',
      agentType: 'CONTROL',
      parameters: { parameter: 'spindle_speed_rpm', setpoint: 9000 },
      agentTimeoutMs: 180_000,
    });
    await waitFor('the command to be sent', async () =>
      (await historyKeys(requestId)).includes('command-sent:main'),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const waiting = await liveTask(temporal, workflowId);
    expect(waiting).toMatchObject({
      status: 'ACTIVE',
      progress: { steps: [{ key: 'main', status: 'RUNNING' }] },
    });

    const back = prism(agentArgs);
    children.push(back);
    await ready(back);
    const outcome = await waitForTask(temporal, workflowId);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main!.agentId).toBe(agentId);
    expect(outcome.results.main!.result).toMatchObject({ approved: true });
    expect(await historyKeys(requestId)).toEqual([
      'created',
      'status:ACTIVE',
      'command-sent:main',
      'response:main',
      'status:COMPLETED',
    ]);
  }, 240_000);

  /** The fixture worker that is killed in the middle of a workflow task (test/fixtures/answering-worker.ts). */
  function fixtureWorker(taskQueue: string, mode: 'answer' | 'hang-in-metrics') {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/answering-worker.ts',
        env.TEMPORAL_ADDRESS,
        env.TEMPORAL_NAMESPACE,
        taskQueue,
        mode,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    let said = '';
    child.stdout!.on('data', (d: Buffer) => void (said += d.toString()));
    return { child, said: () => said };
  }

  /**
   * The worker that takes the run over: stub activities whose agent is silent (the real one would skip the
   * re-sent command as a duplicate). Runs until the run ends; returns what it dispatched and recorded.
   */
  async function takeOver(taskQueue: string, handle: { result(): Promise<unknown> }) {
    const dispatched: string[] = [];
    const metrics: { startedAtMs: number; timings: Record<string, number> }[] = [];
    const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    const second = await Worker.create({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath,
      activities: {
        async createTask({ request: input }: { request: unknown }) {
          const request = acceptTaskRequest(input);
          return { taskId: taskIdFor(request.requestId), request, plan: planOf(request), flowVersion: 2 };
        },
        async searchKnowledge() {
          return { hits: [] };
        },
        async dispatchCommand(input: { taskId: string; step: { key: string } }) {
          dispatched.push(input.step.key);
          return {
            command: { commandId: commandIdFor(input.taskId, input.step.key) },
            transport: 'KAFKA',
            taskQueue: null,
          };
        },
        async finishTask(input: { metrics: { startedAtMs: number; timings: Record<string, number> } }) {
          metrics.push(input.metrics);
          return { timings: {} };
        },
      },
    });
    try {
      const outcome = (await second.runUntil(handle.result())) as TaskOutcome;
      return { outcome, dispatched, metrics };
    } finally {
      await connection.close();
    }
  }

  // A fast agent answers while the workflow task that created the task and sent the command is still open.
  // When that workflow task is lost (its worker killed, or its completion not stored while Temporal or its
  // PostgreSQL is down), Temporal replays the run with the answer in its history ahead of createTask; the
  // agent dedupes the re-sent command and never answers again, so the answer must count then too.
  it('keeps an answer that reached the run before its plan was recorded (a lost workflow task)', async () => {
    const taskQueue = `durable-${randomUUID()}`;
    const requestId = testId('lostwft');
    const handle = await temporal.workflow.start(workflowType, {
      taskQueue,
      workflowId: workflowIdFor(requestId),
      args: [{ requestId, query: 'check', agentType: 'MONITORING', agentTimeoutMs: 20_000 }],
    });
    const first = fixtureWorker(taskQueue, 'answer');
    await waitFor('the stub agent to answer', () => first.said().includes('answered'), 60_000);
    await kill(first.child); // its workflow task never completes: Temporal times it out and hands the run on

    const { outcome, dispatched } = await takeOver(taskQueue, handle);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main).toMatchObject({
      agentId: 'stub-agent',
      result: { answered: 'before the crash' },
    });
    expect(dispatched).toEqual(['main']);
  }, 120_000);

  // The whole flow can run in one workflow task (its answer already there). When that task is lost after
  // finishTask wrote the task's points — Temporal killed, or restarted and too busy to take the task's
  // completion — the run is executed again from its start on a later workflow task. Its metric points must
  // land on the same timestamps, or InfluxDB keeps both sets (7 duplicated points for one task, seen once
  // with Temporal killed under load): their time is the run's start, which its history fixes.
  it('writes the same metric points when the run is executed again after a lost first workflow task', async () => {
    const taskQueue = `durable-${randomUUID()}`;
    const requestId = testId('lostmetrics');
    const workflowId = workflowIdFor(requestId);
    const taskId = taskIdFor(requestId);
    const handle = await temporal.workflow.signalWithStart(workflowType, {
      taskQueue,
      workflowId,
      args: [{ requestId, query: 'check', agentType: 'MONITORING', agentTimeoutMs: 20_000 }],
      signal: agentResponseSignal,
      signalArgs: [
        {
          commandId: commandIdFor(taskId, 'main'),
          workflowId,
          stepKey: 'main',
          agentId: 'stub-agent',
          status: 'SUCCESS',
          result: { answered: 'with the start' },
        },
      ],
    });
    const first = fixtureWorker(taskQueue, 'hang-in-metrics');
    await waitFor('the first worker to reach finishTask', () => first.said().includes('metrics '), 60_000);
    const before = JSON.parse(first.said().split('metrics ')[1]!.split('\n')[0]!) as {
      startedAtMs: number;
      timings: Record<string, number>;
    };
    await kill(first.child);

    const { outcome, metrics, dispatched } = await takeOver(taskQueue, handle);
    expect(outcome.status).toBe('COMPLETED');
    // The second worker ran the flow again from its start (no step of the lost task had been recorded).
    expect(dispatched).toEqual(['main']);
    expect(metrics).toHaveLength(1);
    // The run was executed again from its start (createTask's answer was never recorded)…
    const { events } = await handle.fetchHistory();
    expect(events!.filter((e) => e.workflowTaskTimedOutEventAttributes).length).toBeGreaterThan(0);
    // …and its points have the same time and steps (the same identity in InfluxDB: overwritten, not added).
    const started = (await handle.describe()).startTime.getTime();
    expect(before.startedAtMs).toBe(started);
    expect(metrics[0]!.startedAtMs).toBe(started);
    expect(Object.keys(metrics[0]!.timings)).toEqual(Object.keys(before.timings));
  }, 120_000);

  it('fails a task with a clear reason when no agent answers in time', async () => {
    const worker: RunningWorker = await startTestWorker();
    running.push(worker);
    // An ANALYSIS agent is registered, but none runs: it went away without a word.
    const agentId = `durable-silent-${randomUUID().slice(0, 8)}`;
    agentIds.push(agentId);
    await prisma.agent.create({
      data: { id: agentId, name: 'silent analysis agent', type: 'ANALYSIS', transport: 'KAFKA' },
    });
    const requestId = newRequestId('noanswer');
    const { workflowId } = await startTask(temporal, env, {
      requestId,
      query: 'summarise',
      agentType: 'ANALYSIS',
      agentTimeoutMs: 3_000,
    });
    const outcome = await waitForTask(temporal, workflowId);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toMatch(/no ANALYSIS agent answered step "main" within 3 s/);
    const row = await prisma.task.findUniqueOrThrow({ where: { requestId } });
    expect(row.status).toBe('FAILED');
    expect(row.errorMessage).toMatch(/within 3 s/);
  }, 120_000);
});
