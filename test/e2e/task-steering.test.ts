// Steering tasks against the real services, with the real worker, API and a Kafka agent: a task whose step
// failed, retried from that step with the CLI, completes without its first step's agent being commanded again;
// a CONTROL step on a machine whose constraints require approval waits (WAITING_APPROVAL) until an operator
// approves it through the API (the SDK), with who and why in the history, and a viewer's key is refused;
// a step rejected with the CLI fails its task, naming who and why.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { PrismError } from '../../src/errors.ts';
import type { AgentCommand, TaskProgress } from '../../src/task/index.ts';
import { taskIdFor } from '../../src/task/ids.ts';
import { workflowIdFor } from '../../src/task/index.ts';
import { PrismApiError } from '../../src/sdk/errors.ts';
import { PrismClient } from '../../src/sdk/client.ts';
import { createApiKey, provisionAccessControl } from '../../src/stores/postgres/auth.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker, waitFor } from './support.ts';

const run = promisify(execFile);

describe('steering tasks: retry from a step, approval steps', () => {
  const prisma = createPrisma(env);
  const machine = testId('press').replaceAll('_', '-');
  const constraintName = testId('approval-rule');
  const requestIds: string[] = [];
  const userIds: string[] = [];
  const agentIds = [`e2e-control-${randomUUID().slice(0, 8)}`];
  /** The commands each test agent got, for this file's tasks only. */
  const commands: AgentCommand[] = [];
  /** Steps whose next command fails (then succeeds). */
  const failOnce = new Set<string>();
  let worker: RunningWorker;
  let agents: RunningAgent[] = [];
  let api: RunningApi;
  let temporal: Client;
  let operator: PrismClient;
  let viewer: PrismClient;
  let operatorName: string;

  const newRequestId = (entry: string) => {
    const id = testId(`e2e-steer-${entry}`);
    requestIds.push(id);
    return id;
  };
  const keyFor = async (role: 'operator' | 'viewer') => {
    const row = await prisma.role.findUniqueOrThrow({ where: { name: role } });
    const user = await prisma.user.create({
      data: { username: testId(`e2e-${role}`), roles: { create: { roleId: row.id } } },
    });
    userIds.push(user.id);
    return { key: (await createApiKey(prisma, { userId: user.id, name: 'e2e' })).key, name: user.username };
  };
  const history = (taskId: string) =>
    prisma.taskHistory.findMany({ where: { taskId }, orderBy: { id: 'asc' } });

  beforeAll(async () => {
    await provisionAccessControl(prisma);
    // Every CONTROL action on this test's machine waits for a person.
    await prisma.constraint.create({
      data: {
        name: constraintName,
        constraintType: 'SAFETY',
        agentType: 'CONTROL',
        rule: { requiresApproval: true, machine },
        severity: 'CRITICAL',
      },
    });
    const mine = new Set<string>();
    const handler = async (command: AgentCommand) => {
      if (!requestIds.some((r) => taskIdFor(r) === command.taskId)) return { ignored: true };
      commands.push(command);
      mine.add(command.commandId);
      if (failOnce.delete(command.stepKey))
        throw new PrismError('INVALID_PARAMETERS', 'the press did not answer');
      return { step: command.stepKey, upstream: command.upstream };
    };
    [worker, temporal] = await Promise.all([startTestWorker(), connectTemporal(env)]);
    agents = await Promise.all(
      (['CONTROL'] as const).map((type, i) =>
        runKafkaAgent({
          type,
          handler,
          env,
          agentId: agentIds[i]!,
          log: silentLogger,
          heartbeatIntervalMs: 2_000,
        }),
      ),
    );
    api = await startApi(env, { port: 0, logger: false });
    const op = await keyFor('operator');
    operatorName = op.name;
    operator = new PrismClient({ baseUrl: api.url, apiKey: op.key, retryForMs: 0 });
    viewer = new PrismClient({ baseUrl: api.url, apiKey: (await keyFor('viewer')).key, retryForMs: 0 });
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await worker?.stop();
    await temporal?.connection.close();
    await prisma.constraint.deleteMany({ where: { name: constraintName } });
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: { in: agentIds } } });
    await prisma.user.deleteMany({ where: { id: { in: userIds } } });
    await prisma.$disconnect();
    // The worker's stop waits for the activities it runs, also of runs other test files started meanwhile.
  }, 180_000);

  it('retries a failed task from its failed step (CLI): the first step is not commanded again', async () => {
    const requestId = newRequestId('retry');
    const taskId = taskIdFor(requestId);
    failOnce.add('judge');
    const submitted = await operator.submitTask({
      requestId,
      query: `Judge the last hour of ${machine}`,
      // CONTROL steps: agents of the other types may run in other test files at the same time, in the same
      // consumer group, and take these commands; no other test runs a CONTROL agent. (No machine: no approval.)
      plan: [
        { key: 'gather', agentType: 'CONTROL' },
        { key: 'judge', agentType: 'CONTROL', dependsOn: ['gather'] },
      ],
      agentTimeoutMs: 30_000,
    });
    const failed = await operator.waitForTask(submitted.taskId, { timeoutMs: 90_000, pollMs: 250 });
    expect(failed.status).toBe('FAILED');

    // A completed step is no place to start from that is not in the plan.
    const unknown = await operator.retryTask(taskId, { fromStep: 'nosuchstep' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(PrismApiError);
    expect((unknown as PrismApiError).status).toBe(400);
    expect((unknown as PrismApiError).message).toContain('no step "nosuchstep"');

    const { stdout } = await run(
      process.execPath,
      ['bin/prism.js', 'task', 'retry', taskId, '--reason', 'the press is back', '--json'],
      { env: { ...process.env, PRISM_OPERATOR: 'e2e-shift-lead' } },
    );
    const retried = JSON.parse(stdout) as {
      attempt: number;
      fromStep: string;
      reused: string[];
      rerun: string[];
    };
    expect(retried).toMatchObject({ attempt: 2, fromStep: 'judge', reused: ['gather'], rerun: ['judge'] });

    const done = await operator.waitForTask(taskId, { timeoutMs: 90_000, pollMs: 250 });
    expect(done.status).toBe('COMPLETED');
    // The first step's agent got exactly one command; the failed step two (each run its own command).
    const ofTask = commands.filter((c) => c.taskId === taskId);
    expect(ofTask.filter((c) => c.stepKey === 'gather')).toHaveLength(1);
    const judged = ofTask.filter((c) => c.stepKey === 'judge');
    expect(judged).toHaveLength(2);
    expect(new Set(judged.map((c) => c.commandId)).size).toBe(2);
    // The retried step got the first run's answer of the step it reused.
    expect(judged[1]!.upstream).toEqual({ gather: { step: 'gather', upstream: {} } });

    // Both runs in the history: the first run's failure, the retry (who and why), the second run's end.
    const events = (await history(taskId)).map((h) => [h.eventKey, h.eventType, h.toStatus]);
    expect(events).toEqual(
      expect.arrayContaining([
        ['response:judge', 'RESPONSE_RECEIVED', null],
        ['status:FAILED', 'STATUS_CHANGED', 'FAILED'],
        ['retry:2', 'RETRY_STARTED', 'ACTIVE'],
        ['command-sent:judge@2', 'COMMAND_SENT', null],
        ['response:judge@2', 'RESPONSE_RECEIVED', null],
        ['status:COMPLETED@2', 'STATUS_CHANGED', 'COMPLETED'],
      ]),
    );
    expect(events.filter(([k]) => String(k).startsWith('command-sent:gather'))).toHaveLength(1);
    const retry = (await history(taskId)).find((h) => h.eventType === 'RETRY_STARTED')!;
    expect(retry.details).toMatchObject({
      attempt: 2,
      fromStep: 'judge',
      reused: ['gather'],
      requestedBy: 'cli:e2e-shift-lead',
      reason: 'the press is back',
    });
    // Temporal keeps both runs under the task's workflow id.
    const runs: string[] = [];
    for await (const r of temporal.workflow.list({ query: `WorkflowId = "${workflowIdFor(requestId)}"` }))
      runs.push(r.status.name);
    expect(runs.sort()).toEqual(['COMPLETED', 'FAILED']);

    // A COMPLETED task is not retried.
    const again = await operator.retryTask(taskId).catch((e: unknown) => e);
    expect((again as PrismApiError).status).toBe(409);
    expect((again as PrismApiError).code).toBe('TASK_NOT_RETRYABLE');
  });

  it('holds a CONTROL step on a machine whose constraints require approval until an operator approves it', async () => {
    const requestId = newRequestId('approve');
    const taskId = taskIdFor(requestId);
    await operator.submitTask({
      requestId,
      query: `Lower the ram speed of ${machine}`,
      plan: [{ key: 'act', agentType: 'CONTROL' }],
      parameters: { machine },
      agentTimeoutMs: 30_000,
    });
    const waiting = await waitFor('the step to wait for approval', async () => {
      const task = await operator.getTask(taskId).catch(() => null);
      return task?.status === 'WAITING_APPROVAL' ? task : null;
    });
    const progress = waiting.live!.progress as TaskProgress;
    expect(progress.steps).toEqual([{ key: 'act', agentType: 'CONTROL', status: 'WAITING_APPROVAL' }]);
    expect(commands.filter((c) => c.taskId === taskId)).toEqual([]);
    const requested = (await history(taskId)).find((h) => h.eventType === 'APPROVAL_REQUESTED');
    expect(requested?.details).toMatchObject({
      stepKey: 'act',
      source: 'policy',
      constraint: constraintName,
    });
    const described = await temporal.workflow.getHandle(workflowIdFor(requestId)).describe();
    expect(described.searchAttributes.TaskStatus).toEqual(['WAITING_APPROVAL']);

    // A viewer may read the task but not decide it.
    const forbidden = await viewer.approveStep(taskId, 'act', 'looks fine').catch((e: unknown) => e);
    expect((forbidden as PrismApiError).status).toBe(403);
    // A step that does not wait is refused at once.
    const notWaiting = await operator.approveStep(taskId, 'other', 'why not').catch((e: unknown) => e);
    expect((notWaiting as PrismApiError).status).toBe(409);
    expect((notWaiting as PrismApiError).code).toBe('STEP_NOT_WAITING');

    const decided = await operator.approveStep(taskId, 'act', 'ram speed checked with maintenance');
    expect(decided).toMatchObject({ stepKey: 'act', decision: 'APPROVED', by: operatorName });
    const done = await operator.waitForTask(taskId, { timeoutMs: 60_000, pollMs: 250 });
    expect(done.status).toBe('COMPLETED');
    expect(commands.filter((c) => c.taskId === taskId).map((c) => c.stepKey)).toEqual(['act']);
    const decision = (await history(taskId)).find((h) => h.eventType === 'APPROVAL_DECIDED');
    expect(decision?.details).toMatchObject({
      stepKey: 'act',
      decision: 'APPROVED',
      by: operatorName,
      reason: 'ram speed checked with maintenance',
      automatic: false,
    });
    // Approved before its command went out.
    const order = (await history(taskId)).map((h) => h.eventType);
    expect(order.indexOf('APPROVAL_DECIDED')).toBeLessThan(order.indexOf('COMMAND_SENT'));
  });

  it('fails a task whose step an operator rejects with the CLI, naming who and why; the step is never commanded', async () => {
    const requestId = newRequestId('reject');
    const taskId = taskIdFor(requestId);
    await operator.submitTask({
      requestId,
      query: `Raise the ram speed of ${machine}`,
      agentType: 'CONTROL',
      approval: { steps: ['main'], timeoutMs: 600_000 },
      agentTimeoutMs: 30_000,
    });
    await waitFor('the step to wait for approval', async () => {
      const task = await operator.getTask(taskId).catch(() => null);
      return task?.status === 'WAITING_APPROVAL';
    });
    const { stdout } = await run(
      process.execPath,
      ['bin/prism.js', 'task', 'reject', taskId, '--step', 'main', '--reason', 'die change first', '--json'],
      { env: { ...process.env, PRISM_OPERATOR: 'e2e-shift-lead' } },
    );
    expect(JSON.parse(stdout)).toMatchObject({
      stepKey: 'main',
      decision: 'REJECTED',
      by: 'cli:e2e-shift-lead',
    });
    const done = await operator.waitForTask(taskId, { timeoutMs: 60_000, pollMs: 250 });
    expect(done.status).toBe('FAILED');
    expect(done.record?.errorMessage).toBe(
      'step "main" (CONTROL) was rejected by cli:e2e-shift-lead: die change first',
    );
    expect(done.record?.subtasks[0]).toMatchObject({
      status: 'FAILED',
      errorMessage: 'rejected by cli:e2e-shift-lead: die change first',
    });
    expect(commands.filter((c) => c.taskId === taskId)).toEqual([]);
    // Deciding it again is refused: it no longer waits (the task has ended).
    const again = await run(
      process.execPath,
      ['bin/prism.js', 'task', 'approve', taskId, '--step', 'main', '--reason', 'changed my mind'],
      { env: process.env },
    ).then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(again?.code).toBe(2);
    expect(again?.stderr).toContain('no step waits');
  });
});
