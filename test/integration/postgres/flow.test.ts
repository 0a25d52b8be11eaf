// The worker's one-statement writes: the rows they leave, repeated calls leaving one effect, and refused
// transitions changing nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrisma } from '../../../src/db/prisma.ts';
import {
  chooseAgent,
  closeTask,
  markCommandSent,
  openTask,
  recordApprovalEvent,
  recordedSteps,
  recordedStepResponse,
  recordStepAnswer,
  recordStepResponse,
  reopenTask,
  type OpenTask,
} from '../../../src/stores/postgres/flow.ts';
import { InvalidTransitionError } from '../../../src/stores/postgres/tasks.ts';
import { CommandsTopic } from '../../../src/stores/kafka/topics.ts';
import { subtaskIdFor } from '../../../src/task/ids.ts';
import type { AgentResponse } from '../../../src/task/index.ts';
import { env, testId } from '../../helpers.ts';

const typedControl = CommandsTopic.CONTROL;

describe('task flow writes in PostgreSQL', () => {
  const prisma = createPrisma(env);
  const requestIds: string[] = [];
  const agentIds: string[] = [];
  afterAll(async () => {
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } }); // everything else cascades
    await prisma.agent.deleteMany({ where: { id: { in: agentIds } } });
    await prisma.$disconnect();
  });

  /** A test agent's id, removed after the tests. */
  const newAgentId = (n: string) => {
    const agentId = testId(`agent_${n}`);
    agentIds.push(agentId);
    return agentId;
  };

  function newTask(steps = ['a', 'b']): OpenTask {
    const requestId = testId('flow');
    requestIds.push(requestId);
    return {
      taskId: randomUUID(),
      requestId,
      workflowId: `task-${requestId}`,
      userId: randomUUID(), // no such user: the task is created without the link
      priority: 'HIGH',
      query: { text: 'check spindle temperature', type: 'MONITORING', constraints: { machine: 'cnc-02' } },
      planId: randomUUID(),
      taskGraph: { steps: steps.map((key) => ({ key })) },
      subtasks: steps.map((key, i) => ({
        id: randomUUID(),
        stepKey: key,
        agentType: 'MONITORING',
        sequenceOrder: i,
        dependsOn: i === 0 ? [] : [steps[i - 1]!],
        input: { instruction: `do ${key}` },
      })),
    };
  }

  const load = (taskId: string) =>
    prisma.task.findUniqueOrThrow({
      where: { id: taskId },
      include: {
        queries: true,
        history: { orderBy: { id: 'asc' } },
        plans: { include: { subtasks: { orderBy: { sequenceOrder: 'asc' } } } },
      },
    });

  it('opens a task with its query, plan, subtasks and history, once however often it is called', async () => {
    const t = newTask();
    const results = await Promise.all([openTask(prisma, t), openTask(prisma, t), openTask(prisma, t)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await openTask(prisma, t)).created).toBe(false);

    const task = await load(t.taskId);
    expect(task).toMatchObject({
      status: 'ACTIVE',
      priority: 'HIGH',
      userId: null,
      workflowId: t.workflowId,
    });
    expect(task.startedAt).toBeInstanceOf(Date);
    expect(task.queries).toHaveLength(1);
    expect(task.queries[0]).toMatchObject({
      queryText: 'check spindle temperature',
      queryType: 'MONITORING',
      userConstraints: { machine: 'cnc-02' },
    });
    expect(task.history.map((h) => [h.eventKey, h.fromStatus, h.toStatus])).toEqual([
      ['created', null, 'PENDING'],
      ['status:ACTIVE', 'PENDING', 'ACTIVE'],
    ]);
    expect(task.plans).toHaveLength(1);
    expect(task.plans[0]).toMatchObject({
      id: t.planId,
      queryId: task.queries[0]!.id,
      status: 'EXECUTING',
      taskGraph: { steps: [{ key: 'a' }, { key: 'b' }] },
    });
    expect(task.plans[0]!.subtasks.map((s) => [s.stepKey, s.status, s.dependsOn, s.input])).toEqual([
      ['a', 'QUEUED', [], { instruction: 'do a' }],
      ['b', 'QUEUED', ['a'], { instruction: 'do b' }],
    ]);
  });

  it('records a command and an answer once each, linking the agent only if it is registered', async () => {
    const t = newTask(['a']);
    await openTask(prisma, t);
    const subtaskId = t.subtasks[0]!.id;
    for (let i = 0; i < 2; i++) {
      await markCommandSent(prisma, { taskId: t.taskId, subtaskId, stepKey: 'a', details: { n: i } });
    }
    const answer = {
      taskId: t.taskId,
      subtaskId,
      stepKey: 'a',
      status: 'SUCCESS' as const,
      agentId: 'no-such-agent',
      output: { anomalies: 2 },
      error: null,
      durationMs: 12,
      details: { commandId: 'c1' },
    };
    await recordStepAnswer(prisma, answer);
    await recordStepAnswer(prisma, answer);

    const task = await load(t.taskId);
    const events = task.history.map((h) => [h.eventKey, h.eventType, h.subtaskId, h.details]);
    expect(events.slice(2)).toEqual([
      ['command-sent:a', 'COMMAND_SENT', subtaskId, { n: 0 }],
      ['response:a', 'RESPONSE_RECEIVED', subtaskId, { commandId: 'c1' }],
    ]);
    expect(task.plans[0]!.subtasks[0]).toMatchObject({
      status: 'SUCCESS',
      output: { anomalies: 2 },
      durationMs: 12,
      agentId: null,
    });
    expect(task.plans[0]!.subtasks[0]!.startedAt).toBeInstanceOf(Date);
  });

  it('gives back the answer a dispatch recorded, to its command only, as the run took it', async () => {
    const base = newTask(['a']);
    const t = {
      ...base,
      subtasks: base.subtasks.map((s) => ({ ...s, id: subtaskIdFor(base.taskId, s.stepKey) })),
    };
    await openTask(prisma, t);
    const command = { commandId: randomUUID(), taskId: t.taskId, stepKey: 'a' };
    const lookup = (c = command, attempt?: number) =>
      recordedStepResponse(prisma, { workflowId: t.workflowId, command: c, ...(attempt ? { attempt } : {}) });
    expect(await lookup()).toBeNull();
    const response: AgentResponse = {
      commandId: command.commandId,
      workflowId: t.workflowId,
      stepKey: 'a',
      agentId: 'agent-x',
      status: 'FAILED',
      result: { tried: 3 },
      error: 'sensor offline',
      durationMs: 41,
    };
    await recordStepResponse(prisma, { taskId: t.taskId, stepKey: 'a', response });
    expect(await lookup()).toEqual(response);
    // Another command of the step (a retry's run) has no answer yet, nor has the retry's run.
    expect(await lookup({ ...command, commandId: randomUUID() })).toBeNull();
    expect(await lookup(command, 2)).toBeNull();
    const task = await load(t.taskId);
    expect(task.plans[0]!.subtasks[0]).toMatchObject({
      status: 'FAILED',
      errorMessage: 'sensor offline',
      durationMs: 41,
    });
  });

  it('closes a task once; the same end again is a no-op, another end is refused and changes nothing', async () => {
    const t = newTask();
    await openTask(prisma, t);
    const close = { taskId: t.taskId, planId: t.planId, result: { a: 1 }, error: null };
    expect(await closeTask(prisma, { ...close, status: 'COMPLETED' })).toEqual({ changed: true });
    expect(await closeTask(prisma, { ...close, status: 'COMPLETED' })).toEqual({ changed: false });
    await expect(closeTask(prisma, { ...close, status: 'FAILED', error: 'too late' })).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );

    const task = await load(t.taskId);
    expect(task).toMatchObject({ status: 'COMPLETED', result: { a: 1 }, errorMessage: null });
    expect(task.totalDurationMs).toBeGreaterThanOrEqual(0);
    expect(task.plans[0]!.status).toBe('COMPLETED');
    expect(task.plans[0]!.subtasks.map((s) => s.status)).toEqual(['SKIPPED', 'SKIPPED']);
    expect(task.history.filter((h) => h.eventType === 'STATUS_CHANGED').map((h) => h.toStatus)).toEqual([
      'ACTIVE',
      'COMPLETED',
    ]);
  });

  it('cancels the steps that never ran when a task is cancelled, keeping the reason', async () => {
    const t = newTask();
    await openTask(prisma, t);
    await closeTask(prisma, {
      taskId: t.taskId,
      planId: t.planId,
      status: 'CANCELLED',
      result: {},
      error: 'cancelled by request',
    });
    const task = await load(t.taskId);
    expect(task).toMatchObject({ status: 'CANCELLED', errorMessage: 'cancelled by request' });
    expect(task.plans[0]!.status).toBe('CANCELLED');
    expect(task.plans[0]!.subtasks.map((s) => s.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(task.history.at(-1)).toMatchObject({
      fromStatus: 'ACTIVE',
      toStatus: 'CANCELLED',
      details: { reason: 'cancelled by request' },
    });
  });

  it('chooses a live agent over a silent one, a silent one over none, and never a disabled one', async () => {
    // The agent types are a fixed enum, so these share CONTROL with any real agent; heartbeats dated a
    // minute ahead make them the freshest of their kind.
    const base = { name: 'test agent', type: 'CONTROL' as const, transport: 'KAFKA' as const };
    const live = newAgentId('live');
    const silent = newAgentId('silent');
    const disabled = newAgentId('disabled');
    const future = new Date(Date.now() + 60_000); // fresher than any real agent
    await prisma.agent.createMany({
      data: [
        { ...base, id: silent, status: 'OFFLINE', lastHeartbeatAt: future },
        { ...base, id: disabled, status: 'DISABLED', lastHeartbeatAt: new Date(Date.now() + 120_000) },
        { ...base, id: live, status: 'ONLINE', lastHeartbeatAt: future },
      ],
    });
    expect((await chooseAgent(prisma, 'CONTROL', 30_000, typedControl))?.id).toBe(live);
    await prisma.agent.update({ where: { id: live }, data: { status: 'DISABLED' } });
    const otherLive = await prisma.agent.findFirst({
      where: {
        type: 'CONTROL',
        id: { notIn: agentIds },
        status: { in: ['ONLINE', 'DEGRADED'] },
        lastHeartbeatAt: { gte: new Date(Date.now() - 25_000) },
      },
    });
    const chosen = await chooseAgent(prisma, 'CONTROL', 30_000, typedControl);
    expect(chosen?.id).toBe(otherLive ? otherLive.id : silent);
    expect(chosen?.transport).toBe('KAFKA');
  });

  it('routes to the type’s own commands topic only while every Kafka agent of the type that is up reads it', async () => {
    const base = { name: 'test agent', type: 'CONTROL' as const, status: 'ONLINE' as const };
    const future = new Date(Date.now() + 60_000);
    const typed = newAgentId('typed');
    const native = newAgentId('native');
    const shared = newAgentId('shared');
    await prisma.agent.createMany({
      data: [
        {
          ...base,
          id: typed,
          transport: 'KAFKA',
          config: { commandsTopic: typedControl },
          lastHeartbeatAt: future,
        },
        // A Temporal-native agent reads no topic: it does not hold the Kafka agents back.
        { ...base, id: native, transport: 'TEMPORAL', lastHeartbeatAt: new Date(Date.now() + 30_000) },
      ],
    });
    // The other CONTROL agents up now (the running system's, other tests'): the typed topic only if they read it.
    const others = await prisma.agent.findMany({
      where: {
        type: 'CONTROL',
        transport: 'KAFKA',
        id: { notIn: agentIds },
        status: { in: ['ONLINE', 'DEGRADED'] },
        lastHeartbeatAt: { gte: new Date(Date.now() - 25_000) },
      },
    });
    const othersTyped = others.every(
      (a) => (a.config as { commandsTopic?: string } | null)?.commandsTopic === typedControl,
    );
    expect(await chooseAgent(prisma, 'CONTROL', 30_000, typedControl)).toMatchObject({
      id: typed,
      transport: 'KAFKA',
      typedTopic: othersTyped,
    });
    // One live agent that reads only the shared topic (another language's, an older runtime) is in the same
    // consumer group: every command of the type goes on the shared topic, whoever is chosen.
    await prisma.agent.create({
      data: { ...base, id: shared, transport: 'KAFKA', lastHeartbeatAt: new Date(Date.now() + 10_000) },
    });
    expect(await chooseAgent(prisma, 'CONTROL', 30_000, typedControl)).toMatchObject({
      id: typed,
      typedTopic: false,
    });
    // Once it is gone (OFFLINE), the type's own topic again (if the others read it).
    await prisma.agent.update({ where: { id: shared }, data: { status: 'OFFLINE' } });
    expect((await chooseAgent(prisma, 'CONTROL', 30_000, typedControl))?.typedTopic).toBe(othersTyped);
  });

  it('reopens a failed task for a retry once: its failed step queued again, its answered step kept, both runs in the history', async () => {
    const t = newTask();
    await openTask(prisma, t);
    const [a, b] = t.subtasks;
    const answer = (s: typeof a, status: 'SUCCESS' | 'FAILED', attempt?: number) =>
      recordStepAnswer(prisma, {
        taskId: t.taskId,
        subtaskId: s!.id,
        stepKey: s!.stepKey,
        status,
        agentId: 'nobody',
        output: { step: s!.stepKey },
        error: status === 'FAILED' ? 'press offline' : null,
        durationMs: 5,
        details: { agentId: 'agent-1', status, commandId: `cmd-${s!.stepKey}-${attempt ?? 1}` },
        ...(attempt ? { attempt } : {}),
      });
    await answer(a, 'SUCCESS');
    await answer(b, 'FAILED');
    await closeTask(prisma, {
      taskId: t.taskId,
      planId: t.planId,
      status: 'FAILED',
      result: {},
      error: 'b failed',
    });

    const steps = await recordedSteps(prisma, t.planId);
    expect(steps.map((s) => [s.step_key, s.status, s.response?.commandId])).toEqual([
      ['a', 'SUCCESS', 'cmd-a-1'],
      ['b', 'FAILED', 'cmd-b-1'],
    ]);
    expect(steps[0]!.output).toEqual({ step: 'a' });

    const reopen = () =>
      reopenTask(prisma, {
        taskId: t.taskId,
        planId: t.planId,
        attempt: 2,
        rerun: ['b'],
        details: { fromStep: 'b', requestedBy: 'alice' },
      });
    const results = await Promise.all([reopen(), reopen()]);
    expect(results.every((r) => r.reopened)).toBe(true);
    let task = await load(t.taskId);
    expect(task).toMatchObject({ status: 'ACTIVE', errorMessage: null, completedAt: null });
    expect(task.plans[0]!.subtasks.map((s) => [s.stepKey, s.status, s.retryCount])).toEqual([
      ['a', 'SUCCESS', 0],
      ['b', 'QUEUED', 1],
    ]);

    // The second run's answer and end are new events; the first run's stay.
    await answer(b, 'SUCCESS', 2);
    await closeTask(prisma, {
      taskId: t.taskId,
      planId: t.planId,
      status: 'COMPLETED',
      result: {},
      error: null,
      attempt: 2,
    });
    task = await load(t.taskId);
    expect(task.status).toBe('COMPLETED');
    expect(task.history.map((h) => h.eventKey)).toEqual([
      'created',
      'status:ACTIVE',
      'response:a',
      'response:b',
      'status:FAILED',
      'retry:2',
      'response:b@2',
      'status:COMPLETED@2',
    ]);
    expect(task.history.find((h) => h.eventKey === 'retry:2')).toMatchObject({
      eventType: 'RETRY_STARTED',
      fromStatus: 'FAILED',
      toStatus: 'ACTIVE',
      details: { fromStep: 'b', requestedBy: 'alice' },
    });
    // A COMPLETED task is not reopened, and nothing changes.
    const refused = await reopenTask(prisma, {
      taskId: t.taskId,
      planId: t.planId,
      attempt: 3,
      rerun: ['b'],
      details: {},
    });
    expect(refused).toEqual({ reopened: false, current: 'COMPLETED' });
    expect((await load(t.taskId)).history).toHaveLength(8);
  });

  it('records an approval asked for and decided once each; a rejection ends its step', async () => {
    const t = newTask(['act']);
    await openTask(prisma, t);
    const subtaskId = t.subtasks[0]!.id;
    const requested = {
      taskId: t.taskId,
      subtaskId,
      eventKey: 'approval-requested:act',
      eventType: 'APPROVAL_REQUESTED' as const,
      details: { source: 'policy', constraint: 'press-3 needs a person' },
    };
    await Promise.all([recordApprovalEvent(prisma, requested), recordApprovalEvent(prisma, requested)]);
    expect((await load(t.taskId)).plans[0]!.subtasks[0]!.status).toBe('QUEUED');
    await recordApprovalEvent(prisma, {
      taskId: t.taskId,
      subtaskId,
      eventKey: 'approval-decided:act',
      eventType: 'APPROVAL_DECIDED',
      details: { decision: 'REJECTED', by: 'bob', reason: 'serviced' },
      subtask: { status: 'SKIPPED', error: 'rejected by bob: serviced' },
    });
    const task = await load(t.taskId);
    expect(task.plans[0]!.subtasks[0]).toMatchObject({
      status: 'SKIPPED',
      errorMessage: 'rejected by bob: serviced',
    });
    expect(
      task.history.filter((h) => h.eventType.startsWith('APPROVAL')).map((h) => [h.eventType, h.details]),
    ).toEqual([
      ['APPROVAL_REQUESTED', { source: 'policy', constraint: 'press-3 needs a person' }],
      ['APPROVAL_DECIDED', { decision: 'REJECTED', by: 'bob', reason: 'serviced' }],
    ]);
  });

  it('keeps the history append-only: a rewrite is refused by the database', async () => {
    const t = newTask(['a']);
    await openTask(prisma, t);
    await expect(
      prisma.$executeRaw`UPDATE task_history SET event_type = 'REWRITTEN' WHERE task_id = ${t.taskId}::uuid`,
    ).rejects.toThrow(/task_history is append-only/);
    expect((await load(t.taskId)).history.map((h) => h.eventType)).not.toContain('REWRITTEN');
  });
});
