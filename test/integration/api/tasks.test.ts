// Task routes against the real services: submitting publishes one `user.query` envelope on `user.queries`;
// reading, cancelling and feedback work on the task's PostgreSQL record and its Temporal run. No
// orchestrator runs here: the runs are started by the test on a task queue without a worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../../src/task/index.ts';
import { taskIdFor, uuidFrom } from '../../../src/task/ids.ts';
import { Topic } from '../../../src/stores/kafka/topics.ts';
import { testId } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';
import { recordTask, removeTasks, watchTopic } from './support.ts';

// What the API publishes here is real: an orchestrator started later (\`prism worker\`, the e2e tests)
// replays user.queries and starts these tasks. A short agent timeout lets such a run end within seconds.
const harmless = 1_000;

type Body = Record<string, unknown> & { message: string; fields: { field: string; message: string }[] };

describe('task routes', () => {
  let fx: ApiFixture;
  let key: string;
  let userId: string;
  const requestIds: string[] = [];
  const newRequestId = () => {
    const id = testId('apireq');
    requestIds.push(id);
    return id;
  };
  beforeAll(async () => {
    fx = await apiFixture();
    ({ key, userId } = await fx.keyFor('operator'));
  });
  afterAll(async () => {
    if (fx) await removeTasks(fx.deps, requestIds);
    await fx?.close();
  });

  it.each([
    ['an empty query', { query: '  ', agentType: 'MONITORING' }, 'body.query', /must not be empty/],
    [
      'a bad priority',
      { query: 'check line 3', agentType: 'MONITORING', priority: 'URGENT' },
      'body.priority',
      /HIGH/,
    ],
    [
      'a misspelt field',
      { query: 'check line 3', agent_type: 'MONITORING' },
      'body.agent_type',
      /unknown field/,
    ],
    [
      'a field of the wrong type',
      { query: 'check', agentType: 'MONITORING', agentTimeoutMs: 'soon' },
      'body.agentTimeoutMs',
      /expected number/,
    ],
    ['no agent type and no plan', { query: 'check line 3' }, 'body.agentType', /required when no plan/],
    [
      'a plan with a cycle',
      {
        query: 'check line 3',
        plan: [
          { key: 'watch', agentType: 'MONITORING', dependsOn: ['judge'] },
          { key: 'judge', agentType: 'ANALYSIS', dependsOn: ['watch'] },
        ],
      },
      'body.plan',
      /cycle/,
    ],
    [
      'a bad plan step key',
      { query: 'q', plan: [{ key: 'Bad Key', agentType: 'MONITORING' }] },
      'body.plan.0.key',
      /lower-case/,
    ],
  ])('refuses %s with 400 naming the field', async (_what, body, field, message) => {
    const res = await fx.call<Body>('POST', '/tasks', { key, body });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('Bad Request');
    expect(res.body.fields).toContainEqual({ field, message: expect.stringMatching(message) });
    expect(res.body.message).toContain(field);
  });

  it('refuses a request without a body', async () => {
    const res = await fx.call<Body>('POST', '/tasks', { key });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual([{ field: 'body', message: 'required' }]);
  });

  it('publishes exactly one user.query envelope per submission, and the same request id gives the same task', async () => {
    const watch = await watchTopic(fx.deps, Topic.UserQueries);
    try {
      const requestId = newRequestId();
      const request = {
        requestId,
        query: 'Is spindle 3 overheating?',
        agentType: 'MONITORING',
        priority: 'HIGH',
        agentTimeoutMs: harmless,
      };
      const first = await fx.call('POST', '/tasks', { key, body: request });
      expect(first.status).toBe(202);
      const expected = {
        taskId: taskIdFor(requestId),
        requestId,
        workflowId: workflowIdFor(requestId),
        statusUrl: `/tasks/${workflowIdFor(requestId)}`,
      };
      expect(first.body).toMatchObject(expected);
      expect(first.body.temporalUrl).toMatch(new RegExp(`/workflows/${workflowIdFor(requestId)}$`));
      expect(first.headers.get('location')).toBe(expected.statusUrl);

      const envelopeId = uuidFrom(`request:${requestId}`);
      const [envelope] = await watch.withId(envelopeId);
      expect(envelope).toMatchObject({
        id: envelopeId,
        type: 'user.query',
        taskId: expected.taskId,
        workflowId: expected.workflowId,
        payload: {
          ...request,
          userId, // the task is the caller's
          parameters: {},
        },
      });
      // A moment later there is still exactly one.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(watch.envelopes().filter((e) => e.id === envelopeId)).toHaveLength(1);

      // Submitted again: the same ids, and the same envelope id, which the ingress dedupes.
      const second = await fx.call('POST', '/tasks', { key, body: request });
      expect(second.status).toBe(202);
      expect(second.body).toMatchObject(expected);
      const twice = await watch.withId(envelopeId, 2);
      expect(twice.map((e) => e.payload)).toEqual([envelope!.payload, envelope!.payload]);
    } finally {
      await watch.stop();
    }
  });

  it('generates a request id when none is given', async () => {
    const watch = await watchTopic(fx.deps, Topic.UserQueries);
    try {
      const res = await fx.call<{ requestId: string; taskId: string }>('POST', '/tasks', {
        key,
        body: { query: 'Predict the wear of tool 12', agentType: 'PREDICTION', agentTimeoutMs: harmless },
      });
      expect(res.status).toBe(202);
      requestIds.push(res.body.requestId);
      expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.taskId).toBe(taskIdFor(res.body.requestId));
      const [envelope] = await watch.withId(uuidFrom(`request:${res.body.requestId}`));
      expect(envelope!.payload).toMatchObject({
        requestId: res.body.requestId,
        priority: 'NORMAL',
        parameters: {},
      });
    } finally {
      await watch.stop();
    }
  });

  it('refuses to submit for another user without users:manage', async () => {
    const res = await fx.call<Body>('POST', '/tasks', {
      key,
      body: { query: 'q', agentType: 'MONITORING', userId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/users:manage/);
  });

  it('answers 404 for a task nobody knows', async () => {
    for (const id of [testId('nope'), 'task-' + testId('nope'), '6f0a3c52-e1b4-4b0f-9b3e-8d2a7c1e5f90']) {
      const res = await fx.call<Body>('GET', `/tasks/${id}`, { key });
      expect(res.status).toBe(404);
      expect(res.body.message).toMatch(/no task/);
      expect(res.body.code).toBe('TASK_NOT_FOUND');
    }
    expect((await fx.call('POST', `/tasks/${testId('nope')}/cancel`, { key })).status).toBe(404);
    const feedback = { feedbackType: 'APPROVAL', content: 'fine' };
    expect((await fx.call('POST', `/tasks/${testId('nope')}/feedback`, { key, body: feedback })).status).toBe(
      404,
    );
  });

  it('reads a recorded task by task id, request id and workflow id', async () => {
    const requestId = newRequestId();
    await recordTask(fx.deps, {
      requestId,
      query: 'Summarise the shift',
      agentType: 'ANALYSIS',
      priority: 'LOW',
    });
    const task = { id: taskIdFor(requestId), workflowId: workflowIdFor(requestId) };
    for (const id of [task.id, requestId, task.workflowId]) {
      const res = await fx.call('GET', `/tasks/${id}`, { key });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        taskId: task.id,
        requestId,
        workflowId: task.workflowId,
        status: 'ACTIVE',
        live: null,
        record: {
          id: task.id,
          status: 'ACTIVE',
          priority: 'LOW',
          query: { text: 'Summarise the shift', type: 'ANALYSIS' },
          subtasks: [expect.objectContaining({ status: 'QUEUED' })],
          history: [
            expect.objectContaining({
              eventType: 'TASK_CREATED',
              toStatus: 'PENDING',
              id: expect.any(String),
            }),
            expect.objectContaining({
              eventType: 'STATUS_CHANGED',
              fromStatus: 'PENDING',
              toStatus: 'ACTIVE',
            }),
          ],
        },
      });
    }
    // Not running in Temporal: nothing to cancel.
    const cancel = await fx.call<Body>('POST', `/tasks/${requestId}/cancel`, { key });
    expect(cancel.status).toBe(409);
    expect(cancel.body.message).toMatch(/not running/);
    expect(cancel.body.code).toBe('TASK_NOT_RUNNING');
  });

  it('shows, signals feedback to, and cancels a running task; refuses to cancel it once ended', async () => {
    const requestId = newRequestId();
    const workflowId = workflowIdFor(requestId);
    // A run nobody works on (no worker polls this queue): it stays RUNNING until terminated.
    const handle = await fx.deps.temporal.workflow.start('agentTask', {
      taskQueue: testId('noworker'),
      workflowId,
      args: [{ requestId, query: 'Adjust feed rate', agentType: 'CONTROL' }],
      memo: { taskId: taskIdFor(requestId) },
    });
    // Before the record exists: visible through Temporal only; feedback must wait for the record.
    const early = await fx.call('GET', `/tasks/${requestId}`, { key });
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({
      taskId: taskIdFor(requestId),
      record: null,
      live: { status: 'PENDING' },
    });
    expect(early.body.warning).toMatch(/no worker answered/);
    const tooEarly = await fx.call('POST', `/tasks/${workflowId}/feedback`, {
      key,
      body: { feedbackType: 'APPROVAL', content: 'go' },
    });
    expect(tooEarly.status).toBe(409);
    expect(tooEarly.body).toMatchObject({ code: 'TASK_NOT_RECORDED' });

    await recordTask(fx.deps, { requestId, query: 'Adjust feed rate', agentType: 'CONTROL' });
    const watch = await watchTopic(fx.deps, Topic.UserFeedback);
    try {
      const feedback = {
        feedbackType: 'MODIFICATION',
        content: 'Lower the feed rate by 10 %',
        satisfaction: 4,
      };
      const res = await fx.call<{ feedbackId: string }>('POST', `/tasks/${taskIdFor(requestId)}/feedback`, {
        key,
        body: feedback,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ taskId: taskIdFor(requestId), workflowId, signalled: true });
      const row = await fx.deps.prisma.userFeedback.findUniqueOrThrow({ where: { id: res.body.feedbackId } });
      expect(row).toMatchObject({
        taskId: taskIdFor(requestId),
        userId,
        feedbackType: 'MODIFICATION',
        satisfaction: 4,
      });
      const [envelope] = await watch.withId(res.body.feedbackId);
      expect(envelope).toMatchObject({
        type: 'user.feedback',
        taskId: taskIdFor(requestId),
        workflowId,
        payload: { ...feedback, feedbackId: res.body.feedbackId, userId },
      });
      const signals = (await handle.fetchHistory()).events!.flatMap((e) =>
        e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes] : [],
      );
      expect(signals.map((s) => s.signalName)).toEqual(['userFeedback']);
    } finally {
      await watch.stop();
    }

    const cancel = await fx.call('POST', `/tasks/${requestId}/cancel`, { key });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ taskId: taskIdFor(requestId), workflowId, cancelRequested: true });
    const events = (await handle.fetchHistory()).events!;
    expect(events.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);

    await handle.terminate('API test: the run has ended');
    const again = await fx.call<Body>('POST', `/tasks/${requestId}/cancel`, { key });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/not running \(TERMINATED\)/);
    const late = await fx.call('POST', `/tasks/${requestId}/feedback`, {
      key,
      body: { feedbackType: 'COMPLAINT', content: 'too late' },
    });
    expect(late.status).toBe(201);
    expect(late.body).toMatchObject({ signalled: false });
    const ended = await fx.call('GET', `/tasks/${requestId}`, { key });
    expect(ended.body).toMatchObject({ live: { status: 'FAILED' }, record: { status: 'ACTIVE' } });
  });
});
