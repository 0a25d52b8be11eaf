// A task's events from its Temporal history (src/task/events.ts), on the histories the replay test keeps
// (real runs of the workflow, test/workflows/histories), and the SDK's reading of an event stream.
import { readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  createTaskEventMapper,
  pageEvents,
  parseLastEventId,
  type TaskEvent,
} from '../../src/task/events.ts';
import { sseFrames } from '../../src/sdk/events.ts';
import { slotHolderFor } from '../../activities/admission.ts';
import { commandIdFor } from '../../src/task/ids.ts';
import type { PlanStep } from '../../src/task/index.ts';

function eventsOf(name: string): TaskEvent[] {
  const url = new URL(`../workflows/histories/${name}.json`, import.meta.url);
  const history = historyFromJSON(JSON.parse(readFileSync(url, 'utf8')));
  const map = createTaskEventMapper('wf', 'run');
  return (history.events ?? []).flatMap((e) => map(e) ?? []);
}

const brief = (events: TaskEvent[]) => events.map((e) => [e.type, e.stepKey ?? null]);

describe('task events from a run history', () => {
  it('a single step: started, planned, step started, dispatched, answered, ended COMPLETED', () => {
    const events = eventsOf('single-step-completed');
    expect(brief(events)).toEqual([
      ['task.started', null],
      ['task.planned', null],
      ['step.started', 'main'],
      ['step.dispatched', 'main'],
      ['step.answered', 'main'],
      ['task.ended', null],
    ]);
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(events[0]!.data).toMatchObject({ query: 'check line 1', priority: 'NORMAL', attempt: 1 });
    expect(events[3]!.data).toMatchObject({ agentType: 'MONITORING', transport: 'KAFKA' });
    expect(events[4]!.data).toMatchObject({ status: 'SUCCESS', agentId: 'replay-recorder' });
    expect(events[5]!.data).toMatchObject({
      status: 'COMPLETED',
      reason: null,
      outcome: { status: 'COMPLETED', results: { main: { status: 'SUCCESS' } } },
    });
  });

  it('a DAG: the parallel steps of a layer told apart, the dependent step after them', () => {
    // Flow version 3: each answer came with its dispatch, and follows it.
    const events = eventsOf('dag-completed');
    expect(brief(events)).toEqual([
      ['task.started', null],
      ['task.planned', null],
      ['step.started', 'monitor'],
      ['step.started', 'predict'],
      ['step.dispatched', 'monitor'],
      ['step.answered', 'monitor'],
      ['step.dispatched', 'predict'],
      ['step.answered', 'predict'],
      ['step.started', 'control'],
      ['step.dispatched', 'control'],
      ['step.answered', 'control'],
      ['task.ended', null],
    ]);
    expect(events[1]!.data.steps).toEqual([
      { key: 'monitor', agentType: 'MONITORING', dependsOn: [] },
      { key: 'predict', agentType: 'PREDICTION', dependsOn: [] },
      { key: 'control', agentType: 'CONTROL', dependsOn: ['monitor', 'predict'] },
    ]);
    // Before it (version 2), the answers came as signals after both dispatches.
    expect(brief(eventsOf('dag-completed.flow-2-2026-12-07')).slice(4, 8)).toEqual([
      ['step.dispatched', 'monitor'],
      ['step.dispatched', 'predict'],
      ['step.answered', 'monitor'],
      ['step.answered', 'predict'],
    ]);
  });

  it('an answer that came with its dispatch: one history event, the answer at its id + .5, resumable', () => {
    const events = eventsOf('single-step-completed');
    const dispatched = events.find((e) => e.type === 'step.dispatched')!;
    const answered = events.find((e) => e.type === 'step.answered')!;
    expect(answered.id).toBe(`${dispatched.id}.5`);
    expect(answered.at).toBe(dispatched.at);
    expect(answered.data).toMatchObject({ commandId: dispatched.data.commandId, status: 'SUCCESS' });
    // A client that saw the dispatch resumes with its answer; one that saw the answer, after it.
    const url = new URL('../workflows/histories/single-step-completed.json', import.meta.url);
    const history = historyFromJSON(JSON.parse(readFileSync(url, 'utf8'))).events ?? [];
    const after = (id: string) =>
      pageEvents(createTaskEventMapper('wf', 'run'), history, parseLastEventId(id)!).events.map(
        (e) => e.type,
      );
    expect(after(dispatched.id)).toEqual(['step.answered', 'task.ended']);
    expect(after(answered.id)).toEqual(['task.ended']);
  });

  it('a failed step: the answer FAILED, the task ended FAILED with the reason and its outcome', () => {
    const events = eventsOf('step-failed');
    expect(events.at(-2)).toMatchObject({
      type: 'step.answered',
      data: { status: 'FAILED', error: 'asked to fail' },
    });
    expect(events.at(-1)).toMatchObject({
      type: 'task.ended',
      data: {
        status: 'FAILED',
        reason: 'step "main" (ANALYSIS) failed: asked to fail',
        outcome: { status: 'FAILED', error: 'step "main" (ANALYSIS) failed: asked to fail' },
      },
    });
  });

  it('a cancelled task and an invalid request end as they did', () => {
    expect(eventsOf('cancelled').at(-1)).toMatchObject({
      type: 'task.ended',
      data: { status: 'CANCELLED', reason: 'cancelled by request' },
    });
    const invalid = eventsOf('invalid-request-failed');
    expect(brief(invalid)).toEqual([
      ['task.started', null],
      ['task.ended', null],
    ]);
    expect(invalid[1]!.data.reason).toMatch(/invalid task request: agentType/);
  });

  it('a wait the task’s cancel ended is no deadline’s rejection, in a run that showed ACTIVE then too', () => {
    // As a run before the approval-cancel-keeps-status patch recorded it: WAITING_APPROVAL, the cancel asked
    // for, ACTIVE (the cancelled wait), CANCELLED.
    const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v)!;
    const status = (eventId: number, value: string) => ({
      eventId,
      upsertWorkflowSearchAttributesEventAttributes: {
        searchAttributes: { indexedFields: { TaskStatus: toPayload(value) } },
      },
    });
    const createTask = {
      eventId: 5,
      markerRecordedEventAttributes: {
        markerName: 'core_local_activity',
        details: {
          data: { payloads: [toPayload({ activity_type: 'createTask', seq: 1 })] },
          result: {
            payloads: [
              toPayload({
                taskId: 't1',
                plan: [{ key: 'main', agentType: 'CONTROL', dependsOn: [] }],
                approvals: { main: { source: 'request', onReject: 'fail', timeoutMs: 60_000 } },
              }),
            ],
          },
        },
      },
    };
    const history = (cancel: boolean) => [
      createTask,
      status(6, 'WAITING_APPROVAL'),
      ...(cancel ? [{ eventId: 9, workflowExecutionCancelRequestedEventAttributes: {} }] : []),
      status(12, 'ACTIVE'),
    ];
    const typesOf = (events: object[]) => {
      const map = createTaskEventMapper('wf', 'run');
      return events.flatMap((e) => map(e as never) ?? []).map((e) => e.type);
    };
    expect(typesOf(history(false))).toEqual(['task.planned', 'step.waiting_approval', 'step.rejected']);
    expect(typesOf(history(true))).toEqual(['task.planned', 'step.waiting_approval']);
  });

  it('a retry run’s step waiting for its agent type’s slot: the slot’s holder is that run’s command id', () => {
    const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v)!;
    const marker = (eventId: number, activityType: string, seq: number, result: unknown) => ({
      eventId,
      markerRecordedEventAttributes: {
        markerName: 'core_local_activity',
        details: {
          data: { payloads: [toPayload({ activity_type: activityType, seq })] },
          result: { payloads: [toPayload(result)] },
        },
      },
    });
    const holder = slotHolderFor({ taskId: 't1', step: { key: 'main' } as PlanStep, attempt: 2 });
    expect(holder).toBe(commandIdFor('t1', 'main', 2));
    expect(holder).not.toBe(commandIdFor('t1', 'main'));
    const history = [
      {
        eventId: 1,
        workflowExecutionStartedEventAttributes: {
          input: {
            payloads: [toPayload({ requestId: 'r', query: 'q', retry: { attempt: 2, fromStep: 'main' } })],
          },
        },
      },
      marker(5, 'createTask', 1, {
        taskId: 't1',
        plan: [{ key: 'main', agentType: 'CONTROL', dependsOn: [] }],
      }),
      marker(9, 'dispatchCommand', 3, {
        waiting: { position: 2 },
        slot: { agentType: 'CONTROL', holder, limit: 1 },
        wake: [],
      }),
    ];
    const map = createTaskEventMapper('wf', 'run');
    const queued = history.flatMap((e) => map(e as never) ?? []).find((e) => e.type === 'step.queued');
    expect(queued).toMatchObject({ stepKey: 'main', data: { position: 2, limit: 1 } });
  });

  it('resumed after its last event, a page still tells how the run ended (prism task watch --after)', () => {
    const url = new URL('../workflows/histories/single-step-completed.json', import.meta.url);
    const history = historyFromJSON(JSON.parse(readFileSync(url, 'utf8'))).events ?? [];
    const last = eventsOf('single-step-completed').at(-1)!;
    let ended: TaskEvent | undefined;
    const page = pageEvents(createTaskEventMapper('wf', 'run'), history, Number(last.id), (e) => (ended = e));
    expect(page).toEqual({ events: [], ended: true });
    expect(ended).toMatchObject({ type: 'task.ended', data: { status: 'COMPLETED' } });
  });

  it('reads Last-Event-ID as a non-negative integer, or one + .5 (an answer with its dispatch), only', () => {
    expect(parseLastEventId('12')).toBe(12);
    expect(parseLastEventId([' 7 '])).toBe(7);
    expect(parseLastEventId('11.5')).toBe(11.5);
    for (const bad of [undefined, '', '-1', '1.25', '1.', '.5', 'abc', '9'.repeat(16)])
      expect(parseLastEventId(bad)).toBeUndefined();
  });
});

describe('the SDK reading an event stream', () => {
  const streamOf = (...chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
  const read = async (body: ReadableStream<Uint8Array>) => {
    const frames = [];
    for await (const frame of sseFrames(body)) frames.push(frame);
    return frames;
  };

  it('parses frames split anywhere, skipping comments, with CRLF or LF line ends', async () => {
    const frames = await read(
      streamOf(
        'retry: 3000\n\n: heart',
        'beat\n\nid: 5\nevent: step.started\nda',
        'ta: {"a":1}\r',
        '\n\r\n',
        'id: 6\ndata: x\ndata: y\n\n',
      ),
    );
    expect(frames).toEqual([
      { retry: 3000, data: '' },
      { id: '5', event: 'step.started', data: '{"a":1}' },
      { id: '6', data: 'x\ny' },
    ]);
  });

  it('drops a frame cut off by the end of the stream', async () => {
    expect(await read(streamOf('id: 1\ndata: {}\n\nid: 2\ndata: {'))).toEqual([{ id: '1', data: '{}' }]);
  });
});
