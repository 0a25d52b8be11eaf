// Watching a task (GET /tasks/:id/events, the SDK's watchTask, `prism task watch`) against the real services:
// real tasks run through the real worker (its workflow, local activities and the agent-answer bridge) and a
// Kafka agent, and their events are read from Temporal's history as they happen.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaAgent } from '../../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../../src/agents/logger.ts';
import type { RunningAgent } from '../../../src/agents/types.ts';
import { taskEventStreamsOpen } from '../../../src/api/routes/task-events.ts';
import { buildServer } from '../../../src/api/server.ts';
import { PrismApiError, PrismClient } from '../../../src/sdk/index.ts';
import { sseFrames, type SseFrame } from '../../../src/sdk/events.ts';
import { retryTask } from '../../../src/task/actions.ts';
import { startTask, waitForTask } from '../../../src/task/client.ts';
import type { TaskEvent } from '../../../src/task/events.ts';
import { workflowIdFor, type TaskRequest } from '../../../src/task/index.ts';
import { startWorker, type RunningWorker } from '../../../src/worker/index.ts';
import { env, testId, waitFor } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';
import { removeTasks } from './support.ts';

const run = promisify(execFile);
const repo = new URL('../../../', import.meta.url).pathname;

interface Stream {
  status: number;
  headers: Headers;
  /** The body as sent, comments and all. */
  raw: string;
  frames: SseFrame[];
  events: TaskEvent[];
}

describe('watching a task', () => {
  let fx: ApiFixture;
  let key: string;
  let worker: RunningWorker;
  let agent: RunningAgent;
  let sdk: PrismClient;
  const agentId = `events-analysis-${randomUUID().slice(0, 8)}`;
  const requestIds: string[] = [];
  const failedOnce = new Set<string>();

  beforeAll(async () => {
    fx = await apiFixture();
    // Heartbeats every 15 s in production; here often enough to be seen within one task.
    fx.deps.taskEventsHeartbeatMs = 200;
    key = (await fx.keyFor('viewer')).key;
    sdk = new PrismClient({ baseUrl: fx.baseUrl, apiKey: key });
    [worker, agent] = await Promise.all([
      startWorker(env, { metricsPort: null, withIngress: false, withAlertHandler: false, log: () => {} }),
      runKafkaAgent({
        type: 'ANALYSIS',
        env,
        agentId,
        log: silentLogger,
        heartbeatIntervalMs: 2_000,
        handler: async (command) => {
          await sleep(Number(command.parameters.workMs ?? 0));
          if (command.parameters.fail) throw new Error('the furnace log is unreadable');
          // A step that fails the first time it runs in a task, and succeeds when the task is retried.
          if (command.parameters.failOnce === command.stepKey && !failedOnce.has(command.taskId)) {
            failedOnce.add(command.taskId);
            throw new Error('the furnace log is locked');
          }
          return { step: command.stepKey, upstream: Object.keys(command.upstream) };
        },
      }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await worker?.stop();
    if (fx) await removeTasks(fx.deps, requestIds);
    await fx?.deps.prisma.agent.deleteMany({ where: { id: agentId } });
    await fx?.close();
  });

  /** Starts a task on the worker, as the ingress would: its request id. */
  async function start(request: Omit<TaskRequest, 'requestId'>): Promise<string> {
    const requestId = testId('events');
    requestIds.push(requestId);
    await startTask(fx.deps.temporal, env, { ...request, requestId } as TaskRequest);
    return requestId;
  }

  const twoSteps = (parameters: Record<string, unknown> = {}) => ({
    query: 'Judge the furnace from its log',
    priority: 'HIGH' as const,
    parameters,
    agentTimeoutMs: 30_000,
    plan: [
      { key: 'gather', agentType: 'ANALYSIS' as const },
      { key: 'judge', agentType: 'ANALYSIS' as const, dependsOn: ['gather'] },
    ],
  });

  /** Reads an event stream to its end (or until `stopAfter` events, then hangs up). */
  async function watch(
    id: string,
    options: { headers?: Record<string, string>; query?: string; stopAfter?: number; key?: string } = {},
  ): Promise<Stream> {
    const controller = new AbortController();
    const response = await fetch(
      `${fx.baseUrl}/tasks/${encodeURIComponent(id)}/events${options.query ?? ''}`,
      {
        headers: { authorization: `Bearer ${options.key ?? key}`, ...options.headers },
        signal: controller.signal,
      },
    );
    const stream: Stream = {
      status: response.status,
      headers: response.headers,
      raw: '',
      frames: [],
      events: [],
    };
    if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
      stream.raw = await response.text();
      return stream;
    }
    const [forFrames, forRaw] = response.body!.tee();
    const rawDone = (async () => {
      const decoder = new TextDecoder();
      const reader = forRaw.getReader();
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          stream.raw += decoder.decode(r.value, { stream: true });
        }
      } catch {
        // hung up
      }
    })();
    for await (const frame of sseFrames(forFrames)) {
      stream.frames.push(frame);
      if (frame.event && frame.data) stream.events.push(JSON.parse(frame.data) as TaskEvent);
      if (options.stopAfter !== undefined && stream.events.length >= options.stopAfter) {
        controller.abort();
        break;
      }
    }
    await rawDone;
    return stream;
  }

  const brief = (events: TaskEvent[]) => events.map((e) => `${e.type}${e.stepKey ? `:${e.stepKey}` : ''}`);

  it('streams a running task’s events in order, with heartbeats, and ends after task.ended', async () => {
    const requestId = await start(twoSteps({ workMs: 700 }));
    const stream = await watch(requestId);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(stream.frames[0]).toEqual({ retry: 3000, data: '' });
    expect(stream.raw).toMatch(/^: heartbeat /m);
    expect(brief(stream.events)).toEqual([
      'task.started',
      'task.planned',
      'step.started:gather',
      'step.dispatched:gather',
      'step.answered:gather',
      'step.started:judge',
      'step.dispatched:judge',
      'step.answered:judge',
      'task.ended',
    ]);
    // The SSE id of each frame is its event's id: Temporal's history event ids, increasing.
    const ids = stream.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(stream.frames.filter((f) => f.event).map((f) => f.id)).toEqual(stream.events.map((e) => e.id));

    const outcome = await waitForTask(fx.deps.temporal, workflowIdFor(requestId));
    const [started, planned, , dispatched, answered] = stream.events;
    expect(started).toMatchObject({
      workflowId: workflowIdFor(requestId),
      data: { requestId, priority: 'HIGH', query: 'Judge the furnace from its log', attempt: 1 },
    });
    expect(planned!.data).toMatchObject({
      taskId: outcome.taskId,
      steps: [
        { key: 'gather', agentType: 'ANALYSIS', dependsOn: [] },
        { key: 'judge', agentType: 'ANALYSIS', dependsOn: ['gather'] },
      ],
    });
    expect(dispatched!.data).toMatchObject({
      agentType: 'ANALYSIS',
      transport: 'KAFKA',
      commandId: outcome.results.gather!.commandId,
    });
    expect(answered!.data).toMatchObject({
      status: 'SUCCESS',
      agentId: outcome.results.gather!.agentId,
      result: { step: 'gather', upstream: [] },
    });
    expect(stream.events.at(-1)).toMatchObject({
      type: 'task.ended',
      data: { status: 'COMPLETED', reason: null, outcome: { taskId: outcome.taskId, status: 'COMPLETED' } },
    });
    expect((stream.events.at(-1)!.data.outcome as typeof outcome).results).toEqual(outcome.results);
  });

  it('resumes after Last-Event-ID with only the later events, and answers 204 after the end', async () => {
    const requestId = await start(twoSteps());
    const whole = await watch(requestId);
    expect(whole.events.at(-1)!.type).toBe('task.ended');
    const cut = whole.events.findIndex((e) => e.type === 'step.answered');
    const lastSeen = whole.events[cut]!.id;

    const resumed = await watch(requestId, { headers: { 'last-event-id': lastSeen } });
    expect(resumed.status).toBe(200);
    expect(resumed.events).toEqual(whole.events.slice(cut + 1));
    // The same for a client that cannot set the header, and by the task id or workflow id.
    const byQuery = await watch(whole.events[1]!.data.taskId as string, {
      query: `?lastEventId=${lastSeen}`,
    });
    expect(byQuery.events.map((e) => e.id)).toEqual(whole.events.slice(cut + 1).map((e) => e.id));

    // Resuming after the end: nothing more will come, and an EventSource stops reconnecting on 204.
    const after = await watch(workflowIdFor(requestId), {
      headers: { 'last-event-id': whole.events.at(-1)!.id },
    });
    expect(after.status).toBe(204);
    // A pinned run that is not this task's is refused before any stream.
    const wrongRun = await watch(requestId, { query: `?runId=${randomUUID()}` });
    expect(wrongRun.status).toBe(404);
  });

  it('refuses an unknown task with 404 and a caller without a key with 401, before the stream starts', async () => {
    const unknown = await watch(testId('nosuchtask'));
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(unknown.raw)).toMatchObject({
      code: 'TASK_NOT_FOUND',
      message: expect.stringMatching(/no task/),
    });
    const anonymous = await fetch(`${fx.baseUrl}/tasks/${testId('x')}/events`);
    expect(anonymous.status).toBe(401);
    const bad = await watch(testId('x'), { query: '?lastEventId=abc' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.raw).fields).toContainEqual({
      field: 'query.lastEventId',
      message: expect.any(String),
    });
  });

  it('ends the stream and its long poll when the client hangs up', async () => {
    const requestId = await start({ ...twoSteps({ workMs: 4_000 }) });
    const before = taskEventStreamsOpen();
    const partial = await watch(requestId, { stopAfter: 2 });
    expect(brief(partial.events)).toEqual(['task.started', 'task.planned']);
    // The server notices, aborts the history long poll it is waiting on, and closes the stream.
    await waitFor('the stream to close on the server', () => taskEventStreamsOpen() <= before, 5_000);
    expect(taskEventStreamsOpen()).toBe(before);
  });

  it('ends its open streams when the server closes, instead of holding the close until their tasks end', async () => {
    const requestId = await start(twoSteps({ workMs: 5_000 }));
    const other = buildServer(fx.deps, { rateLimit: { namespace: `prism:${testId('ratelimit')}:` } });
    await other.listen({ host: '127.0.0.1', port: 0 });
    const port = (other.server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/tasks/${requestId}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    const frames: SseFrame[] = [];
    const reading = (async () => {
      for await (const frame of sseFrames(response.body!)) frames.push(frame);
    })();
    await waitFor('the first events', () => frames.some((f) => f.event === 'task.planned'), 10_000);
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(3_000);
    await reading;
    expect(frames.some((f) => f.event === 'task.started')).toBe(true);
    expect(frames.some((f) => f.event === 'task.ended')).toBe(false);
  });

  it('the SDK yields the same events, resumes from an id, and ends with a failed task’s reason', async () => {
    const requestId = await start(twoSteps());
    const sse = await watch(requestId);
    const seen: TaskEvent[] = [];
    for await (const event of sdk.watchTask(requestId)) seen.push(event);
    expect(seen).toEqual(sse.events);
    const later: TaskEvent[] = [];
    for await (const event of sdk.watchTask(requestId, { lastEventId: sse.events[3]!.id })) later.push(event);
    expect(later.map((e) => e.id)).toEqual(sse.events.slice(4).map((e) => e.id));

    const failing = await start({ ...twoSteps({ fail: true }) });
    const events: TaskEvent[] = [];
    for await (const event of sdk.watchTask(failing)) events.push(event);
    expect(brief(events)).toEqual([
      'task.started',
      'task.planned',
      'step.started:gather',
      'step.dispatched:gather',
      'step.answered:gather',
      'task.ended',
    ]);
    expect(events[4]!.data).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/furnace log is unreadable/),
    });
    expect(events[5]!.data).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/step "gather" \(ANALYSIS\) failed: .*furnace log is unreadable/),
      outcome: { status: 'FAILED' },
    });

    const missing = await (async () => {
      for await (const event of sdk.watchTask(testId('nosuchtask'))) return event;
    })().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PrismApiError);
    expect(missing).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND' });
  });

  it('tells a step waiting for approval, and its decision by a person or by the deadline', async () => {
    const approved = await start({ ...twoSteps(), approval: { steps: ['judge'] } });
    const stream = watch(approved);
    const handle = fx.deps.temporal.workflow.getHandle(workflowIdFor(approved));
    await waitFor(
      'the step to wait for approval',
      async () => (await handle.query<{ status: string }>('progress')).status === 'WAITING_APPROVAL',
      30_000,
    );
    await handle.executeUpdate('approveStep', {
      args: [{ stepKey: 'judge', by: 'shift-lead', reason: 'the furnace is cold' }],
    });
    const events = (await stream).events;
    expect(brief(events)).toEqual([
      'task.started',
      'task.planned',
      'step.started:gather',
      'step.dispatched:gather',
      'step.answered:gather',
      'step.waiting_approval:judge',
      'step.approved:judge',
      'step.started:judge',
      'step.dispatched:judge',
      'step.answered:judge',
      'task.ended',
    ]);
    expect(events[1]!.data.approvalSteps).toEqual(['judge']);
    expect(events[5]!.data).toEqual({ steps: ['judge'] });
    expect(events[6]!.data).toMatchObject({
      by: 'shift-lead',
      reason: 'the furnace is cold',
      automatic: false,
    });
    expect(events.at(-1)!.data.status).toBe('COMPLETED');

    const expired = await start({ ...twoSteps(), approval: { steps: ['judge'], timeoutMs: 1_000 } });
    const ended = await watch(expired);
    expect(brief(ended.events).slice(4)).toEqual([
      'step.answered:gather',
      'step.waiting_approval:judge',
      'step.rejected:judge',
      'task.ended',
    ]);
    expect(ended.events.at(-2)!.data).toMatchObject({ by: 'deadline', automatic: true });
    expect(ended.events.at(-1)!.data).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/judge/),
    });
  });

  it('follows a retried task’s latest run, with ids that keep increasing across its runs', async () => {
    const requestId = await start(twoSteps({ failOnce: 'judge' }));
    const first = await watch(requestId);
    expect(first.events.at(-1)!.data.status).toBe('FAILED');
    const retried = await retryTask({ prisma: fx.deps.prisma, temporal: fx.deps.temporal, env }, requestId, {
      requestedBy: 'events-test',
    });
    const second = await watch(requestId);
    expect(brief(second.events)).toEqual([
      'task.started',
      'task.planned',
      'step.started:judge',
      'step.dispatched:judge',
      'step.answered:judge',
      'task.ended',
    ]);
    expect(second.events[0]!.runId).not.toBe(first.events[0]!.runId);
    expect(second.events[0]!.data).toMatchObject({ attempt: 2, fromStep: 'judge', reusedSteps: ['gather'] });
    expect(second.events.at(-1)!.data.status).toBe('COMPLETED');
    // Run 2's ids are 2 × 10⁹ + its history event ids: after run 1's last id, a client gets all of run 2.
    expect(Number(second.events[0]!.id)).toBe(2_000_000_001);
    const afterFirst = await watch(requestId, { headers: { 'last-event-id': first.events.at(-1)!.id } });
    expect(afterFirst.events).toEqual(second.events);
    // The first run stays readable by its run id.
    const pinned = await watch(requestId, { query: `?runId=${first.events[0]!.runId}` });
    expect(pinned.events).toEqual(first.events);
    expect(retried).toMatchObject({ workflowId: workflowIdFor(requestId) });
  });

  it('prism task watch exits 0 for a completed task and 1 with the reason for a failed one', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['bin/prism.js', 'task', 'watch', ...args], { cwd: repo, timeout: 90_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({
          code: err.code,
          stdout: err.stdout,
          stderr: err.stderr,
        }),
      );
    const completed = await start(twoSteps({ workMs: 300 }));
    const failed = await start(twoSteps({ fail: true }));
    const [ok, json, bad] = await Promise.all([cli(completed), cli(completed, '--json'), cli(failed)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/step\.answered\s+judge \(ANALYSIS\): SUCCESS/);
    expect(ok.stdout.trim().split('\n').at(-1)).toMatch(/task\.ended\s+COMPLETED/);
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TaskEvent);
    // The same events, with the same ids, as the API serves.
    expect(lines).toEqual((await watch(completed)).events);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/task\.ended\s+FAILED/);
    expect(bad.stderr).toMatch(/FAILED: step "gather" \(ANALYSIS\) failed: .*furnace log is unreadable/);
    const unknown = await cli(testId('nosuchtask'));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no task .*\[TASK_NOT_FOUND\]/);
  });
});
