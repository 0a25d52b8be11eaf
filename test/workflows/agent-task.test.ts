// The agentTask workflow on stub activities, in Temporal's time-skipping test server: every branch of the
// flow without any store — DAG order and parallelism, a failing step cancelling its running siblings,
// duplicate and late answers, a timeout, a cancel, a Temporal-native agent that heartbeats, and a request
// that a client started without validating it. Timers are skipped, so a 2-minute timeout takes no time.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import {
  ApplicationFailure,
  CancelledFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { finishActivities } from '../../activities/finish.ts';
import { acceptTaskRequest, currentFlowVersion } from '../../activities/task.ts';
import type { TaskActivities } from '../../activities/index.ts';
import {
  agentResponseSignal,
  failureTypes,
  planOf,
  progressQuery,
  workflowIdFor,
  workflowType,
  type AgentCommand,
  type AgentResponse,
  type TaskOutcome,
  type TaskProgress,
  type TaskRequest,
  approveStepUpdate,
  rejectStepUpdate,
  type ApprovalDecision,
  type StepApproval,
} from '../../src/task/index.ts';
import { commandIdFor, taskIdFor } from '../../src/task/ids.ts';
import { createTaskEventMapper } from '../../src/task/events.ts';
import { workflowsPath } from '../../src/worker/index.ts';
import { rulesPatch } from '../../workflows/agent-task.ts';
import { startWorkflowTestEnv } from './test-env.ts';

/** How the stub agent of a step behaves: answer now (SUCCESS or FAILED), or stay silent. */
type Behaviour = (command: AgentCommand) => { status: 'SUCCESS' | 'FAILED'; error?: string } | 'silent';

let testEnv: TestWorkflowEnvironment;

beforeAll(async () => {
  testEnv = await startWorkflowTestEnv();
}, 60_000);
afterAll(async () => {
  await testEnv?.teardown();
});

/** Stub activities that record every call, and a Kafka agent that answers (by signal) as told. */
function stubs(
  behaviour: Behaviour,
  options: {
    temporalNativeQueue?: string;
    createTaskGate?: Promise<void>;
    approvals?: Record<string, StepApproval>;
    /** What createTask answers as the run's flow version; null: none, as runs recorded before version 2. */
    flowVersion?: number | null;
    /** The agent's answer comes with the dispatch's result (flow version 3), not as a signal. */
    inline?: boolean;
  } = {},
) {
  const calls: string[] = [];
  const approvalEvents: { event: string; stepKey: string; details: Record<string, unknown> }[] = [];
  const commands: AgentCommand[] = [];
  const recorded: { status?: string; error?: string; results?: Record<string, AgentResponse> } = {};
  const activities: Pick<
    TaskActivities,
    | 'createTask'
    | 'searchKnowledge'
    | 'dispatchCommand'
    | 'recordStepResult'
    | 'recordResult'
    | 'recordMetrics'
    | 'recordApproval'
    | 'finishTask'
  > = {
    async createTask({ request: input }) {
      const request = acceptTaskRequest(input);
      await options.createTaskGate;
      calls.push('createTask');
      return {
        taskId: taskIdFor(request.requestId),
        request,
        plan: planOf(request),
        ...(options.approvals ? { approvals: options.approvals } : {}),
        ...(options.flowVersion === null ? {} : { flowVersion: options.flowVersion ?? currentFlowVersion }),
      };
    },
    async recordApproval({ event, stepKey, details }) {
      calls.push(`${event}:${stepKey}`);
      approvalEvents.push({ event, stepKey, details });
    },
    async searchKnowledge({ stepKey }) {
      calls.push(`knowledge:${stepKey}`);
      return {
        hits: [
          {
            id: randomUUID(),
            collection: 'ExternalKnowledge',
            title: 'Spindle care',
            snippet: '…',
            score: 1,
          },
        ],
      };
    },
    async dispatchCommand(input) {
      calls.push(`dispatch:${input.step.key}`);
      const command: AgentCommand = {
        commandId: commandIdFor(input.taskId, input.step.key, input.attempt),
        taskId: input.taskId,
        workflowId: input.workflowId,
        stepKey: input.step.key,
        agentType: input.step.agentType,
        instruction: input.instruction,
        parameters: input.parameters,
        knowledge: input.knowledge,
        upstream: input.upstream,
        deadlineAt: input.deadlineAt,
      };
      commands.push(command);
      if (options.temporalNativeQueue) {
        return { command, transport: 'TEMPORAL', taskQueue: options.temporalNativeQueue };
      }
      const answer = behaviour(command);
      if (answer === 'silent') return { command, transport: 'KAFKA', taskQueue: null };
      const response: AgentResponse = {
        commandId: command.commandId,
        workflowId: command.workflowId,
        stepKey: command.stepKey,
        agentId: 'stub-agent',
        status: answer.status,
        result: { step: command.stepKey, upstream: command.upstream, knowledge: command.knowledge.length },
        ...(answer.error ? { error: answer.error } : {}),
      };
      // The dispatch waited for the answer and recorded it (activities/dispatch.ts) — only when the run asks.
      if (options.inline && input.inlineAnswer) {
        calls.push(`answered:${input.step.key}`);
        return {
          command,
          transport: 'KAFKA',
          taskQueue: null,
          answer: response,
          answerTimings: { waitMs: 7, recordMs: 2 },
        };
      }
      // A fast Kafka agent: its answer may reach the workflow before the dispatch's own completion does.
      await testEnv.client.workflow.getHandle(input.workflowId).signal(agentResponseSignal, response);
      return { command, transport: 'KAFKA', taskQueue: null };
    },
    async recordStepResult({ stepKey }) {
      calls.push(`recordStep:${stepKey}`);
    },
    async recordResult({ status, error, results }) {
      calls.push(`recordResult:${status}`);
      Object.assign(recorded, { status, error, results });
    },
    async recordMetrics() {
      calls.push('recordMetrics');
    },
    // The real composition of the three (activities/finish.ts): the calls above show its parts.
    async finishTask(input) {
      return finishActivities(activities).finishTask(input);
    },
  };
  return { activities, calls, recorded, approvalEvents, commands };
}

/** Runs one task on a worker with these stubs until `run` is done. */
async function withWorker<T>(
  activities: object,
  run: (
    start: (request: unknown, options?: { workflowTaskTimeout?: string }) => Promise<WorkflowHandle>,
  ) => Promise<T>,
  extra: Worker[] = [],
): Promise<T> {
  const taskQueue = `wf-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: testEnv.nativeConnection,
    taskQueue,
    workflowsPath,
    activities,
  });
  const start = (request: unknown, options: { workflowTaskTimeout?: string } = {}) =>
    testEnv.client.workflow.start(workflowType, {
      taskQueue,
      workflowId: workflowIdFor((request as { requestId: string }).requestId),
      args: [request],
      ...options,
    });
  const runAll = async () => {
    try {
      return await run(start);
    } finally {
      for (const w of extra) if (w.getState() === 'RUNNING') w.shutdown();
    }
  };
  const [result] = await Promise.all([worker.runUntil(runAll()), ...extra.map((w) => w.run())]);
  return result;
}

const request = (over: Partial<TaskRequest> = {}): TaskRequest => ({
  requestId: `wf-${randomUUID()}`,
  query: 'check the spindle',
  agentType: 'MONITORING',
  ...over,
});

/** The outcome of a run that failed as a FAILED task. */
async function failedOutcome(handle: WorkflowHandle): Promise<TaskOutcome> {
  const err = await handle.result().then(
    () => {
      throw new Error('the run completed; expected it to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(failureTypes.taskFailed);
  return (cause as ApplicationFailure).details![0] as TaskOutcome;
}

describe('agentTask on stub activities', () => {
  it('runs one step through the flow in order and completes', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }));
    const outcome = await withWorker(activities, async (start) => (await start(request())).result());
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main).toMatchObject({
      agentId: 'stub-agent',
      result: { step: 'main', knowledge: 1 },
    });
    expect(calls).toEqual([
      'createTask',
      'knowledge:main',
      'dispatch:main',
      'recordStep:main',
      'recordResult:COMPLETED',
      'recordMetrics',
    ]);
    expect(Object.keys(outcome.timings)).toEqual(
      expect.arrayContaining(['createTask', 'knowledge:main', 'dispatch:main', 'agent:main', 'recordResult']),
    );
  });

  /** The local activities a run's history records, in order (their markers name the activity type). */
  const localActivities = async (handle: WorkflowHandle) =>
    (await handle.fetchHistory()).events!.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      if (m?.markerName !== 'core_local_activity') return [];
      const data = defaultPayloadConverter.fromPayload(m.details!.data!.payloads![0]!) as {
        activity_type: string;
      };
      return [data.activity_type];
    });

  /** The patch markers a run's history records, by patch id. */
  const patchIds = (history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>) =>
    history.events!.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      if (m?.markerName !== 'core_patch') return [];
      const data = defaultPayloadConverter.fromPayload(m.details!['patch-data']!.payloads![0]!) as {
        id: string;
      };
      return [data.id];
    });

  /** Runs one single-step task to its end: its outcome, local activities and history. */
  const runRecorded = (activities: object) =>
    withWorker(activities, async (start) => {
      const handle = await start(request());
      return {
        outcome: await handle.result(),
        markers: await localActivities(handle),
        history: await handle.fetchHistory(),
      };
    });

  it('ends a single-step run with one local activity that records its answer, the outcome and the metrics', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }));
    const { outcome, markers, history } = await runRecorded(activities);
    expect(outcome.status).toBe('COMPLETED');
    expect(markers).toEqual(['createTask', 'searchKnowledge', 'dispatchCommand', 'finishTask']);
    // Its parts, in the order the three separate steps had, timed as they were.
    expect(calls.slice(-3)).toEqual(['recordStep:main', 'recordResult:COMPLETED', 'recordMetrics']);
    expect(Object.keys(outcome.timings)).toEqual(
      expect.arrayContaining(['recordStep:main', 'recordResult', 'recordMetrics']),
    );
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it("takes a Kafka agent's answer that came with its dispatch: one workflow task, no signal, no timer", async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }), { inline: true });
    const { outcome, markers, history } = await runRecorded(activities);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main).toMatchObject({ agentId: 'stub-agent', result: { step: 'main' } });
    expect(markers).toEqual(['createTask', 'searchKnowledge', 'dispatchCommand', 'finishTask']);
    // The dispatch recorded the answer: finishTask does not record it again.
    expect(calls).toEqual([
      'createTask',
      'knowledge:main',
      'dispatch:main',
      'answered:main',
      'recordResult:COMPLETED',
      'recordMetrics',
    ]);
    const events = history.events!;
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(0);
    expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(0);
    // The wait for the answer is the step's agent time, not its dispatch's.
    expect(outcome.timings['agent:main']).toBe(7);
    expect(outcome.timings['recordStep:main']).toBe(2);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it('takes inline answers in a DAG, and records only the signalled ones as steps end', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }), { inline: true });
    const outcome = await withWorker(activities, async (start) =>
      (
        await start(
          request({
            agentType: undefined,
            plan: [
              { key: 'monitor', agentType: 'MONITORING' },
              { key: 'control', agentType: 'CONTROL', dependsOn: ['monitor'] },
            ],
          }),
        )
      ).result(),
    );
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.control).toMatchObject({ result: { upstream: { monitor: { step: 'monitor' } } } });
    expect(calls.filter((c) => c.startsWith('recordStep:'))).toEqual([]);
    expect(calls.filter((c) => c.startsWith('answered:'))).toEqual(['answered:monitor', 'answered:control']);
  });

  it('a run of flow version 2 never asks its dispatch to wait for the answer', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }), { inline: true, flowVersion: 2 });
    const outcome = await withWorker(activities, async (start) => (await start(request())).result());
    expect(outcome.status).toBe('COMPLETED');
    expect(calls).toContain('recordStep:main');
    expect(calls.some((c) => c.startsWith('answered:'))).toBe(false);
  });

  it('records one patch marker, for all the rules, where runs before it recorded four', async () => {
    const { activities } = stubs(() => ({ status: 'SUCCESS' }));
    const history = await withWorker(activities, async (start) => {
      const handle = await start(request());
      await handle.result();
      return handle.fetchHistory();
    });
    expect(patchIds(history)).toEqual([rulesPatch]);
    // And TemporalChangeVersion upserted once, for it.
    const upserts = history.events!.filter((e) =>
      Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      ).includes('TemporalChangeVersion'),
    );
    expect(upserts).toHaveLength(1);
    // A run recorded with the four markers (test/workflows/histories/*.markers-2026-12-06.json) replays as it
    // ran: test/workflows/replay.test.ts.
    const recorded = JSON.parse(
      readFileSync(
        new URL('./histories/single-step-completed.markers-2026-12-06.json', import.meta.url),
        'utf8',
      ),
    ) as { events: { markerRecordedEventAttributes?: { markerName?: string } }[] };
    expect(
      recorded.events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
    ).toHaveLength(4);
  });

  it('a run recorded before flow version 2 ends as it did, with three local activities', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }), { flowVersion: null });
    const { markers, history } = await withWorker(activities, async (start) => {
      const handle = await start(request());
      await handle.result();
      return { markers: await localActivities(handle), history: await handle.fetchHistory() };
    });
    expect(markers).toEqual([
      'createTask',
      'searchKnowledge',
      'dispatchCommand',
      'recordStepResult',
      'recordResult',
      'recordMetrics',
    ]);
    expect(calls.slice(-3)).toEqual(['recordStep:main', 'recordResult:COMPLETED', 'recordMetrics']);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it('runs a DAG: independent steps together, a dependent step after both, with their answers', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }));
    const outcome = await withWorker(activities, async (start) =>
      (
        await start(
          request({
            agentType: undefined,
            plan: [
              { key: 'monitor', agentType: 'MONITORING' },
              { key: 'predict', agentType: 'PREDICTION' },
              { key: 'control', agentType: 'CONTROL', dependsOn: ['monitor', 'predict'] },
            ],
          }),
        )
      ).result(),
    );
    expect(outcome.status).toBe('COMPLETED');
    const at = (call: string) => calls.indexOf(call);
    // Both first steps were sent before either answer was recorded: they ran together.
    expect(at('dispatch:predict')).toBeLessThan(at('recordStep:monitor'));
    expect(at('dispatch:monitor')).toBeLessThan(at('recordStep:predict'));
    // The dependent step went out only once both answers were in, and got them.
    expect(at('dispatch:control')).toBeGreaterThan(at('recordStep:monitor'));
    expect(at('dispatch:control')).toBeGreaterThan(at('recordStep:predict'));
    expect(outcome.results.control!.result.upstream).toEqual({
      monitor: { step: 'monitor', upstream: {}, knowledge: 1 },
      predict: { step: 'predict', upstream: {}, knowledge: 1 },
    });
  });

  /** Two independent steps, a (CONTROL) and b (MONITORING), whose agents have an hour to answer. */
  const siblings = () =>
    request({
      agentType: undefined,
      plan: [
        { key: 'a', agentType: 'CONTROL' },
        { key: 'b', agentType: 'MONITORING' },
      ],
      agentTimeoutMs: 3_600_000,
    });

  it("fails the task with the failing step's reason and cancels its running sibling", async () => {
    const { activities, calls, recorded } = stubs((c) =>
      c.stepKey === 'a' ? { status: 'FAILED', error: 'press-3 is offline' } : 'silent',
    );
    const outcome = await withWorker(activities, async (start) => {
      const handle = await start(siblings());
      const failed = await failedOutcome(handle);
      const progress = await handle.query<TaskProgress>(progressQuery);
      expect(progress.steps).toEqual([
        { key: 'a', agentType: 'CONTROL', status: 'FAILED', agentId: 'stub-agent' },
        { key: 'b', agentType: 'MONITORING', status: 'CANCELLED' },
      ]);
      return failed;
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('step "a" (CONTROL) failed: press-3 is offline');
    expect(recorded).toMatchObject({ status: 'FAILED', error: outcome.error });
    expect(calls).not.toContain('recordStep:b');
    expect(calls.slice(-2)).toEqual(['recordResult:FAILED', 'recordMetrics']);
  });

  it('cancels a sibling’s dispatch still waiting for its answer when a step fails (nothing recorded for it)', async () => {
    const base = stubs(
      (c) => (c.stepKey === 'a' ? { status: 'FAILED', error: 'press-3 is offline' } : 'silent'),
      { inline: true },
    );
    const activities = {
      ...base.activities,
      // Step b's dispatch waits for its answer as activities/dispatch.ts does: until the run stops waiting.
      async dispatchCommand(input: Parameters<typeof base.activities.dispatchCommand>[0]) {
        if (input.step.key !== 'b') return base.activities.dispatchCommand(input);
        base.calls.push('waiting:b');
        const signal = Context.current().cancellationSignal;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        base.calls.push('stopped waiting:b');
        throw signal.reason;
      },
    };
    const outcome = await withWorker(activities, async (start) => {
      const handle = await start(siblings());
      const failed = await failedOutcome(handle);
      for (let i = 0; i < 100 && !base.calls.includes('stopped waiting:b'); i++) await sleep(50);
      return failed;
    });
    expect(outcome.error).toBe('step "a" (CONTROL) failed: press-3 is offline');
    expect(base.calls).toContain('stopped waiting:b');
    expect(base.calls.filter((c) => c.endsWith(':b'))).toEqual([
      'knowledge:b',
      'waiting:b',
      'stopped waiting:b',
    ]);
  });

  it('counts the first answer to a command once, and ignores duplicates and answers to other commands', async () => {
    const { activities } = stubs(() => 'silent');
    const outcome = await withWorker(activities, async (start) => {
      const req = request();
      const handle = await start(req);
      const taskId = taskIdFor(req.requestId);
      const answer = (over: Partial<AgentResponse>): AgentResponse => ({
        commandId: commandIdFor(taskId, 'main'),
        workflowId: workflowIdFor(req.requestId),
        stepKey: 'main',
        agentId: 'first',
        status: 'SUCCESS',
        result: { n: 1 },
        ...over,
      });
      // Once the plan is known: before it, an answer is kept and only checked against its command id.
      while ((await handle.query<TaskProgress>(progressQuery)).steps.length === 0) await sleep(20);
      await handle.signal(agentResponseSignal, answer({ commandId: randomUUID(), agentId: 'stale' }));
      await handle.signal(agentResponseSignal, answer({ stepKey: 'nosuchstep', agentId: 'foreign' }));
      await handle.signal(agentResponseSignal, answer({}));
      await handle.signal(agentResponseSignal, answer({ agentId: 'second', result: { n: 2 } }));
      return handle.result();
    });
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main).toMatchObject({ agentId: 'first', result: { n: 1 } });
  });

  // Answers that reach the run before its plan is known (a lost workflow task, replayed) are kept and checked
  // once the plan is known. One that names a step's command but another step must take nobody's place: it
  // once hid the real answer, and a later duplicate was counted instead.
  it('keeps answers sent before the plan by command and step: one naming another step shadows nothing', async () => {
    let release!: () => void;
    const createTaskGate = new Promise<void>((resolve) => (release = resolve));
    const { activities } = stubs(() => 'silent', { createTaskGate });
    const { outcome, signalled } = await withWorker(activities, async (start) => {
      const req = request({
        agentType: undefined,
        plan: [
          { key: 'a', agentType: 'MONITORING' },
          { key: 'b', agentType: 'PREDICTION' },
        ],
      });
      // A short workflow task timeout: the worker reports the long createTask every 0.8 of it, and the
      // signals sent meanwhile reach the run in the next workflow task, before createTask's result.
      const handle = await start(req, { workflowTaskTimeout: '2s' });
      const taskId = taskIdFor(req.requestId);
      const answer = (stepKey: string, over: Partial<AgentResponse>): AgentResponse => ({
        commandId: commandIdFor(taskId, stepKey),
        workflowId: workflowIdFor(req.requestId),
        stepKey,
        agentId: 'first',
        status: 'SUCCESS',
        result: { n: 1 },
        ...over,
      });
      await handle.signal(agentResponseSignal, answer('a', { stepKey: 'nosuchstep', agentId: 'foreign' }));
      await handle.signal(agentResponseSignal, answer('a', { stepKey: 'b', agentId: 'cross' }));
      await handle.signal(agentResponseSignal, answer('a', {}));
      await handle.signal(agentResponseSignal, answer('a', { agentId: 'second', result: { n: 2 } }));
      await handle.signal(agentResponseSignal, answer('b', { agentId: 'first-b' }));
      // Let createTask return once all five signals are in the run's history with a workflow task after
      // them (the worker reported the long createTask and was handed the signals): they come before its result.
      const handedOver = async () => {
        const { events } = await handle.fetchHistory();
        const signals = events!.flatMap((e, i) => (e.workflowExecutionSignaledEventAttributes ? [i] : []));
        const lastTask = events!.findLastIndex((e) => e.workflowTaskScheduledEventAttributes);
        return signals.length === 5 && lastTask > signals.at(-1)!;
      };
      const deadline = Date.now() + 30_000;
      while (!(await handedOver()) && Date.now() < deadline) await sleep(50);
      release();
      const result = await handle.result();
      // The signals came before createTask's result (its marker) in the history, as after a lost task.
      const { events } = await handle.fetchHistory();
      const firstMarker = events!.findIndex(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      );
      const signals = events!.flatMap((e, i) => (e.workflowExecutionSignaledEventAttributes ? [i] : []));
      // And that history replays on this code, the rules' marker included.
      await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory());
      const patches = events!.flatMap((e) =>
        e.markerRecordedEventAttributes?.markerName === 'core_patch' ? ['patch'] : [],
      );
      return { outcome: result, signalled: { signals, firstMarker, patches } };
    });
    expect(signalled.signals).toHaveLength(5);
    expect(signalled.patches).toEqual(['patch']); // rulesPatch alone: the early answers' rule comes with it
    expect(Math.max(...signalled.signals)).toBeLessThan(signalled.firstMarker);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.a).toMatchObject({ stepKey: 'a', agentId: 'first', result: { n: 1 } });
    expect(outcome.results.b).toMatchObject({ stepKey: 'b', agentId: 'first-b' });
  });

  it('a step reads only an answer that names it: another step key with its command id is not its answer', async () => {
    const { activities } = stubs(() => 'silent');
    const outcome = await withWorker(activities, async (start) => {
      const req = request({
        agentType: undefined,
        plan: [
          { key: 'a', agentType: 'MONITORING' },
          { key: 'b', agentType: 'PREDICTION' },
        ],
      });
      const handle = await start(req);
      const taskId = taskIdFor(req.requestId);
      while ((await handle.query<TaskProgress>(progressQuery)).steps.length === 0) await sleep(20);
      const answer = (commandOf: string, stepKey: string, agentId: string): AgentResponse => ({
        commandId: commandIdFor(taskId, commandOf),
        workflowId: workflowIdFor(req.requestId),
        stepKey,
        agentId,
        status: 'SUCCESS',
        result: { agentId },
      });
      await handle.signal(agentResponseSignal, answer('b', 'a', 'cross'));
      await handle.signal(agentResponseSignal, answer('a', 'a', 'real-a'));
      await handle.signal(agentResponseSignal, answer('b', 'b', 'real-b'));
      return handle.result();
    });
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.a).toMatchObject({ stepKey: 'a', agentId: 'real-a' });
    expect(outcome.results.b).toMatchObject({ stepKey: 'b', agentId: 'real-b' });
  });

  it('fails a step whose agent never answers, after its timeout (skipped in this test)', async () => {
    const { activities, recorded } = stubs(() => 'silent');
    const started = Date.now();
    const outcome = await withWorker(activities, async (start) =>
      failedOutcome(await start(request({ agentType: 'ANALYSIS', agentTimeoutMs: 120_000 }))),
    );
    expect(outcome.error).toMatch(/^no ANALYSIS agent answered step "main" within 120 s/);
    expect(recorded.status).toBe('FAILED');
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('records a cancelled task and ends as a cancelled run', async () => {
    const { activities, calls, recorded } = stubs(() => 'silent');
    const err = await withWorker(activities, async (start) => {
      const handle = await start(request());
      while (!calls.includes('dispatch:main')) await sleep(20);
      await handle.cancel();
      return handle.result().then(
        () => null,
        (e: unknown) => e,
      );
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(recorded).toMatchObject({ status: 'CANCELLED', error: 'cancelled by request' });
    expect(calls.slice(-2)).toEqual(['recordResult:CANCELLED', 'recordMetrics']);
  });

  it('gives a Temporal-native agent the whole step budget, kept alive by its heartbeats', async () => {
    const agentQueue = `wf-agent-${randomUUID()}`;
    const { activities } = stubs(() => 'silent', { temporalNativeQueue: agentQueue });
    const seen: { attempt: number; startToCloseMs?: number; heartbeatMs?: number }[] = [];
    const agentWorker = await Worker.create({
      connection: testEnv.nativeConnection,
      taskQueue: agentQueue,
      activities: {
        async runAgentCommand(command: AgentCommand): Promise<AgentResponse> {
          const { info } = Context.current();
          seen.push({
            attempt: info.attempt,
            startToCloseMs: info.startToCloseTimeoutMs,
            heartbeatMs: info.heartbeatTimeoutMs,
          });
          for (let i = 0; i < 6; i++) {
            Context.current().heartbeat({ progress: i });
            await sleep(250);
          }
          return {
            commandId: command.commandId,
            workflowId: command.workflowId,
            stepKey: command.stepKey,
            agentId: 'native-agent',
            status: 'SUCCESS',
            result: { worked: true },
          };
        },
      },
    });
    const outcome = await withWorker(
      activities,
      async (start) => (await start(request({ agentType: 'PREDICTION', agentTimeoutMs: 600_000 }))).result(),
      [agentWorker],
    );
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.results.main).toMatchObject({ agentId: 'native-agent', result: { worked: true } });
    expect(seen).toEqual([{ attempt: 1, startToCloseMs: 600_000, heartbeatMs: 20_000 }]);
  });

  it('fails a run started with an invalid request, naming each bad field, before anything is stored', async () => {
    const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }));
    const err = await withWorker(activities, async (start) =>
      (await start({ requestId: `wf-${randomUUID()}`, query: '', agentType: 'WELDING', priorty: 'HIGH' }))
        .result()
        .then(
          () => null,
          (e: unknown) => e,
        ),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(failureTypes.invalidRequest);
    expect(cause.details).toEqual(
      expect.arrayContaining([
        { field: 'query', message: 'must not be empty' },
        { field: 'agentType', message: expect.stringContaining('MONITORING') },
        { field: 'priorty', message: 'unknown field (check its spelling)' },
      ]),
    );
    expect(calls).toEqual([]);
  });

  it('gives up the slot a dispatch took while the task was being cancelled (not held until its lease ends)', async () => {
    const { activities } = stubs(() => 'silent');
    let entered = false;
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const released: string[] = [];
    const limited = {
      ...activities,
      async dispatchCommand(input: Parameters<typeof activities.dispatchCommand>[0]) {
        const sent = await activities.dispatchCommand(input);
        entered = true;
        await gate; // the cancel lands while the slot is being taken
        return { ...sent, slot: { agentType: input.step.agentType, holder: 'slot-1', limit: 1 }, wake: [] };
      },
      async releaseAgentSlot(slot: { holder: string }) {
        released.push(slot.holder);
        return { wake: [] };
      },
    };
    const err = await withWorker(limited, async (start) => {
      const handle = await start(request());
      while (!entered) await sleep(20);
      await handle.cancel();
      await sleep(300);
      letGo();
      const err = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory());
      return err;
    });
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(released).toEqual(['slot-1']);
  });

  describe('approval steps', () => {
    const gated: Record<string, StepApproval> = {
      act: { source: 'request', onReject: 'fail', timeoutMs: 86_400_000 },
    };
    const plan = [
      { key: 'monitor', agentType: 'MONITORING' as const },
      { key: 'act', agentType: 'CONTROL' as const, dependsOn: ['monitor'] },
    ];

    /** Polls the progress query until the step waits for approval. */
    async function untilWaiting(handle: WorkflowHandle, stepKey: string): Promise<TaskProgress> {
      for (;;) {
        const progress = await handle.query<TaskProgress>(progressQuery);
        if (progress.steps.find((s) => s.key === stepKey)?.status === 'WAITING_APPROVAL') return progress;
        await sleep(20);
      }
    }

    it('waits before dispatching the step, shows WAITING_APPROVAL, and runs it once approved', async () => {
      const { activities, calls, approvalEvents } = stubs(() => ({ status: 'SUCCESS' }), {
        approvals: gated,
      });
      const { outcome, progress, statusAttribute, refused, decision } = await withWorker(
        activities,
        async (start) => {
          const handle = await start(request({ agentType: undefined, plan }));
          const progress = await untilWaiting(handle, 'act');
          const { searchAttributes } = await handle.describe();
          // A step that does not wait is refused at once by the validator, and leaves no trace in the run.
          const refused = await handle
            .executeUpdate(approveStepUpdate, {
              args: [{ stepKey: 'monitor', reason: 'fine', by: 'alice' }],
            })
            .then(
              () => null,
              (e: unknown) => e,
            );
          const decision = await handle.executeUpdate<ApprovalDecision, [unknown]>(approveStepUpdate, {
            args: [{ stepKey: 'act', reason: 'setpoint checked with the shift lead', by: 'alice' }],
          });
          const outcome = await handle.result();
          // The history, with its approval marker, timer and update, replays on this code.
          await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory());
          return {
            outcome,
            progress,
            statusAttribute: searchAttributes.TaskStatus,
            refused,
            decision,
          };
        },
      );
      expect(progress.status).toBe('WAITING_APPROVAL');
      expect(statusAttribute).toEqual(['WAITING_APPROVAL']);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (refused as WorkflowUpdateFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe(failureTypes.stepNotWaiting);
      expect(cause.message).toBe('step "monitor" is not waiting for approval (it is SUCCESS)');
      expect(decision).toMatchObject({ stepKey: 'act', decision: 'APPROVED', by: 'alice', automatic: false });
      expect(outcome.status).toBe('COMPLETED');
      // Nothing went to the step's agent before the decision.
      expect(calls.indexOf('dispatch:act')).toBeGreaterThan(calls.indexOf('APPROVAL_DECIDED:act'));
      expect(calls.indexOf('APPROVAL_REQUESTED:act')).toBeGreaterThan(calls.indexOf('recordStep:monitor'));
      expect(approvalEvents.map((e) => [e.event, e.details.by ?? null, e.details.reason ?? null])).toEqual([
        ['APPROVAL_REQUESTED', null, null],
        ['APPROVAL_DECIDED', 'alice', 'setpoint checked with the shift lead'],
      ]);
    });

    it('fails the task when the step is rejected and its plan says fail; the step is never dispatched', async () => {
      const { activities, calls, approvalEvents } = stubs(() => ({ status: 'SUCCESS' }), {
        approvals: gated,
      });
      const outcome = await withWorker(activities, async (start) => {
        const handle = await start(request({ agentType: undefined, plan }));
        await untilWaiting(handle, 'act');
        await handle.executeUpdate(rejectStepUpdate, {
          args: [{ stepKey: 'act', reason: 'press-3 is being serviced', by: 'bob' }],
        });
        return failedOutcome(handle);
      });
      expect(outcome.error).toBe('step "act" (CONTROL) was rejected by bob: press-3 is being serviced');
      expect(calls).not.toContain('dispatch:act');
      expect(approvalEvents.at(-1)!.details).toMatchObject({ decision: 'REJECTED', onReject: 'fail' });
    });

    it('skips a rejected step and the steps that depend on it when its plan says skip, and completes', async () => {
      const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }), {
        approvals: { gate: { source: 'policy', constraint: 'press-3', onReject: 'skip', timeoutMs: 60_000 } },
      });
      const { outcome, progress } = await withWorker(activities, async (start) => {
        const handle = await start(
          request({
            agentType: undefined,
            plan: [
              { key: 'gate', agentType: 'CONTROL' },
              { key: 'after', agentType: 'ANALYSIS', dependsOn: ['gate'] },
              { key: 'other', agentType: 'MONITORING' },
            ],
          }),
        );
        await untilWaiting(handle, 'gate');
        await handle.executeUpdate(rejectStepUpdate, {
          args: [{ stepKey: 'gate', reason: 'not now', by: 'carol' }],
        });
        const outcome = await handle.result();
        return { outcome, progress: await handle.query<TaskProgress>(progressQuery) };
      });
      expect(outcome.status).toBe('COMPLETED');
      expect(Object.keys(outcome.results)).toEqual(['other']);
      expect(progress.steps.map((s) => [s.key, s.status])).toEqual([
        ['gate', 'SKIPPED'],
        ['after', 'SKIPPED'],
        ['other', 'SUCCESS'],
      ]);
      expect(calls).not.toContain('dispatch:gate');
      expect(calls).not.toContain('dispatch:after');
    });

    it('rejects the step when no one decides before its deadline (a durable timer; skipped in this test)', async () => {
      const { activities, calls, approvalEvents } = stubs(() => ({ status: 'SUCCESS' }), {
        approvals: { main: { source: 'request', onReject: 'fail', timeoutMs: 3_600_000 } },
      });
      const outcome = await withWorker(activities, async (start) =>
        failedOutcome(await start(request({ agentType: 'CONTROL' }))),
      );
      expect(outcome.error).toMatch(
        /^step "main" \(CONTROL\) was rejected by deadline: no decision within 3600 s/,
      );
      expect(approvalEvents.at(-1)!.details).toMatchObject({
        decision: 'REJECTED',
        by: 'deadline',
        automatic: true,
      });
      expect(calls).not.toContain('dispatch:main');
    });

    it('a cancelled wait rejects nothing: TaskStatus goes from WAITING_APPROVAL to CANCELLED, never ACTIVE', async () => {
      const { activities, recorded } = stubs(() => ({ status: 'SUCCESS' }), { approvals: gated });
      const { history, events } = await withWorker(activities, async (start) => {
        const handle = await start(request({ agentType: undefined, plan }));
        await untilWaiting(handle, 'act');
        await handle.cancel();
        await handle.result().catch(() => undefined);
        const history = await handle.fetchHistory();
        await Worker.runReplayHistory({ workflowsPath }, history);
        const map = createTaskEventMapper(handle.workflowId, 'run');
        return { history, events: (history.events ?? []).flatMap((e) => map(e) ?? []) };
      });
      expect(recorded.status).toBe('CANCELLED');
      const statuses = (history.events ?? []).flatMap((e) => {
        const field =
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TaskStatus;
        return field ? [defaultPayloadConverter.fromPayload<string>(field)] : [];
      });
      expect(statuses).toEqual(['ACTIVE', 'WAITING_APPROVAL', 'CANCELLED']);
      expect(events.map((e) => e.type)).not.toContain('step.rejected');
      expect(events.at(-1)).toMatchObject({ type: 'task.ended', data: { status: 'CANCELLED' } });
    });
  });

  describe('a retry from a step', () => {
    it('reuses the answers of the steps before it, commands the rest anew, and replays', async () => {
      const { activities, calls, commands } = stubs(() => ({ status: 'SUCCESS' }));
      const req = request({
        agentType: undefined,
        plan: [
          { key: 'a', agentType: 'MONITORING' },
          { key: 'b', agentType: 'PREDICTION', dependsOn: ['a'] },
          { key: 'c', agentType: 'CONTROL', dependsOn: ['b'] },
        ],
      });
      const taskId = taskIdFor(req.requestId);
      const earlier: AgentResponse = {
        commandId: commandIdFor(taskId, 'a'),
        workflowId: workflowIdFor(req.requestId),
        stepKey: 'a',
        agentId: 'first-run-agent',
        status: 'SUCCESS',
        result: { median: 71 },
      };
      const { outcome, progress } = await withWorker(activities, async (start) => {
        const handle = await start({
          ...req,
          retry: {
            attempt: 2,
            fromStep: 'b',
            completed: { a: earlier },
            requestedBy: 'alice',
            reason: 'b timed out',
          },
        });
        const outcome = await handle.result();
        await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory());
        return { outcome, progress: await handle.query<TaskProgress>(progressQuery) };
      });
      expect(outcome.status).toBe('COMPLETED');
      // The reused step's agent was not commanded again.
      expect(calls.filter((c) => c.endsWith(':a'))).toEqual([]);
      expect(commands.map((c) => c.stepKey)).toEqual(['b', 'c']);
      // The retried steps' commands are new ones (the first run's ids are deduped by the agents).
      expect(commands.map((c) => c.commandId)).toEqual([
        commandIdFor(taskId, 'b', 2),
        commandIdFor(taskId, 'c', 2),
      ]);
      expect(commands[0]!.commandId).not.toBe(commandIdFor(taskId, 'b'));
      // b got a's earlier answer as its upstream.
      expect(commands[0]!.upstream).toEqual({ a: { median: 71 } });
      expect(outcome.results.a).toEqual(earlier);
      expect(progress.steps.find((s) => s.key === 'a')).toMatchObject({ status: 'SUCCESS', reused: true });
    });

    it('refuses a retry whose reused steps depend on a step that runs again', async () => {
      const { activities, calls } = stubs(() => ({ status: 'SUCCESS' }));
      const req = request({
        agentType: undefined,
        plan: [
          { key: 'a', agentType: 'MONITORING' },
          { key: 'b', agentType: 'PREDICTION', dependsOn: ['a'] },
        ],
      });
      const answer = {
        commandId: randomUUID(),
        workflowId: 'w',
        stepKey: 'b',
        agentId: 'x',
        status: 'SUCCESS',
        result: {},
      };
      const err = await withWorker(activities, async (start) =>
        (
          await start({
            ...req,
            retry: { attempt: 2, fromStep: 'a', completed: { b: answer }, requestedBy: 'alice' },
          })
        )
          .result()
          .then(
            () => null,
            (e: unknown) => e,
          ),
      );
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe(failureTypes.invalidRequest);
      expect(cause.details).toEqual([
        { field: 'retry.completed.b', message: 'reused, but a step it depends on (a) runs again' },
      ]);
      expect(calls).toEqual([]);
    });
  });
});
