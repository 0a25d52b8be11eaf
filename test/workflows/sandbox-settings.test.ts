// The task worker's two sandbox settings, which patch the Temporal SDK (patches/@temporalio+worker+1.24.0.patch):
// the per-promise stack capture that PRISM_WORKFLOW_STACK_TRACES turns on or off (the Temporal UI's
// "Stack Trace" tab answers from it), and a deadlock limit of 0 (no `vm` timeout) that still runs workflows.
// Against Temporal's time-skipping test server, the same worker code as production.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { acceptTaskRequest } from '../../activities/task.ts';
import { planOf, workflowIdFor } from '../../src/task/index.ts';
import { commandIdFor, taskIdFor } from '../../src/task/ids.ts';
import type { AgentCommand } from '../../src/task/index.ts';
import { workflowsPath } from '../../src/worker/index.ts';
import { startWorkflowTestEnv } from './test-env.ts';

let testEnv: TestWorkflowEnvironment;

beforeAll(async () => {
  testEnv = await startWorkflowTestEnv();
}, 60_000);
afterAll(async () => {
  await testEnv?.teardown();
});

/** A task whose agent never answers: the run waits for it, and a query can ask where. */
const activities = {
  async createTask({ request: input }: { request: unknown }) {
    const request = acceptTaskRequest(input);
    return { taskId: taskIdFor(request.requestId), request, plan: planOf(request), flowVersion: 2 };
  },
  async searchKnowledge() {
    return { hits: [] };
  },
  async dispatchCommand(input: {
    taskId: string;
    workflowId: string;
    step: { key: string; agentType: AgentCommand['agentType'] };
  }) {
    const command = {
      commandId: commandIdFor(input.taskId, input.step.key),
      taskId: input.taskId,
      workflowId: input.workflowId,
      stepKey: input.step.key,
      agentType: input.step.agentType,
    };
    return { command, transport: 'KAFKA', taskQueue: null };
  },
};

/** The `__stack_trace` query's answer for a waiting run on a worker started with this setting. */
async function stackTraceWith(setting: 'on' | 'off'): Promise<{ answer?: string; error?: string }> {
  // Read by the workflow thread a worker starts (src/worker/index.ts sets it from the configuration).
  process.env.TEMPORAL_WORKFLOW_STACK_TRACES = setting;
  const taskQueue = `sandbox-${randomUUID()}`;
  const worker = await Worker.create({
    connection: testEnv.nativeConnection,
    taskQueue,
    workflowsPath,
    activities,
    isolateExecutionTimeout: 0,
  });
  const requestId = `sandbox-${randomUUID()}`;
  return worker.runUntil(async () => {
    const handle = await testEnv.client.workflow.start('agentTask', {
      taskQueue,
      workflowId: workflowIdFor(requestId),
      args: [{ requestId, query: 'where does it wait', agentType: 'MONITORING' }],
    });
    // Waiting for the agent once its progress says so.
    for (let i = 0; i < 100; i++) {
      const progress = await handle.query<{ status: string; steps: { status: string }[] }>('progress');
      if (progress.steps[0]?.status === 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      return { answer: await handle.query<string>('__stack_trace') };
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      await handle.terminate('test done');
    }
  });
}

describe('the workflow sandbox settings (patched SDK)', () => {
  it('off: no stack capture, and the stack trace query says so; the run still works with no deadlock limit', async () => {
    const off = await stackTraceWith('off');
    expect(off.answer).toBeUndefined();
    expect(off.error).toMatch(/stack traces are not enabled/i);
  });

  it('on: the stack trace query shows where the run waits (the agent answer)', async () => {
    const on = await stackTraceWith('on');
    expect(on.error).toBeUndefined();
    expect(on.answer).toMatch(/awaitKafkaAnswer|condition/);
  });
});
