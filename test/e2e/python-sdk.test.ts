// The workflow is a public boundary: an agent written in Python starts, signals and queries agentTask with
// the Python Temporal SDK (`temporalio` from PyPI, in a virtualenv this test makes once and keeps in the
// stack cache), knowing only docs/workflows.md — no TypeScript, no validation of its own.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { liveTask } from '../../src/task/client.ts';
import { taskIdFor } from '../../src/task/ids.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId, waitFor } from '../helpers.ts';
import { ensurePythonPackages, temporalioVersion, venvBin } from './python-venv.ts';
import { startTestWorker } from './support.ts';

const run = promisify(execFile);
const python = venvBin('python');
const script = (name: string) => new URL(`../python/${name}`, import.meta.url).pathname;

const pythonEnv = () => ({
  ...process.env,
  TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
  TEMPORAL_TASK_QUEUE: env.TEMPORAL_TASK_QUEUE,
});

async function python3(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(python, [script(name), ...args], { env: pythonEnv(), timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('agentTask from the Python Temporal SDK', () => {
  const prisma = createPrisma(env);
  const agentId = `py-analysis-${randomUUID().slice(0, 8)}`;
  const requestIds: string[] = [];
  let worker: RunningWorker;
  let agent: RunningAgent;
  let temporal: Client;
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));

  beforeAll(async () => {
    await ensurePythonPackages({ temporalio: `temporalio==${temporalioVersion}` });
    [worker, temporal] = await Promise.all([startTestWorker(), connectTemporal(env)]);
    agent = await runKafkaAgent({
      type: 'ANALYSIS',
      env,
      agentId,
      log: silentLogger,
      handler: async (command) => {
        if (command.instruction.includes('hold')) await held;
        return { summary: `analysed: ${command.instruction}`, parameters: command.parameters };
      },
    });
  }, 300_000);

  afterAll(async () => {
    release();
    await agent?.stop();
    await worker?.stop();
    await temporal?.connection.close();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  const newRequestId = () => {
    const id = testId('py');
    requestIds.push(id);
    return id;
  };

  it('starts a task with the documented request (defaults applied by the workflow) and sees all four search attributes', async () => {
    const requestId = newRequestId();
    // Exactly the body docs/api.md documents, without agentTimeoutMs: the workflow applies its defaults.
    const out = await python3(
      'start_task.py',
      JSON.stringify({
        requestId,
        query: 'summarise the shift report',
        agentType: 'ANALYSIS',
        priority: 'HIGH',
        parameters: { line: 'line-1' },
      }),
    );
    const taskId = taskIdFor(requestId);
    expect(out).toMatchObject({
      ended: 'completed',
      status: 'COMPLETED',
      result: {
        taskId,
        status: 'COMPLETED',
        results: { main: { agentId, status: 'SUCCESS', result: { parameters: { line: 'line-1' } } } },
      },
    });
    expect(out.searchAttributes).toMatchObject({
      TaskId: taskId,
      AgentType: 'ANALYSIS',
      TaskPriority: 'HIGH',
      TaskStatus: 'COMPLETED',
    });
    const row = await prisma.task.findUniqueOrThrow({ where: { requestId } });
    expect(row).toMatchObject({ id: taskId, status: 'COMPLETED', priority: 'HIGH' });
  });

  it('gets a failed run naming each bad field when its input is wrong, and nothing is stored', async () => {
    const requestId = newRequestId();
    const out = await python3(
      'start_task.py',
      JSON.stringify({ requestId, query: 'weld the frame', agentType: 'WELDING', priority: 'URGENT' }),
    );
    expect(out).toMatchObject({
      ended: 'failed',
      status: 'FAILED',
      failure: {
        type: 'InvalidTaskRequest',
        message: expect.stringMatching(/agentType.*priority|priority.*agentType/),
      },
    });
    expect((out.failure as { details: { field: string }[] }).details.map((d) => d.field).sort()).toEqual([
      'agentType',
      'priority',
    ]);
    expect(await prisma.task.count({ where: { requestId } })).toBe(0);
  });

  it('queries, signals feedback to, and answers a running task', async () => {
    const requestId = newRequestId();
    const workflowId = `task-${requestId}`;
    await temporal.workflow.start('agentTask', {
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [{ requestId, query: 'hold this analysis', agentType: 'ANALYSIS' }],
    });
    await waitFor(
      'the step to run',
      async () => (await liveTask(temporal, workflowId))?.progress?.steps[0]?.status === 'RUNNING',
    );
    const out = await python3('signal_and_query.py', workflowId, taskIdFor(requestId));
    expect(out.before).toMatchObject({
      status: 'ACTIVE',
      feedback: 0,
      steps: [{ key: 'main', status: 'RUNNING' }],
    });
    expect(out.after).toMatchObject({ status: 'ACTIVE', feedback: 1 });
    expect(out.result).toMatchObject({
      status: 'COMPLETED',
      results: { main: { agentId: 'python-agent', result: { answeredBy: 'python' } } },
    });
  });
});
