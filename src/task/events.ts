// A task's progress as a stream of events (GET /tasks/:id/events, `prism task watch`, the SDK's watchTask),
// read from what Temporal already records: the run's own history, long-polled. Nothing is written per step
// for it. Each history event gives at most one task event, whose id is the history event's id — so a client
// that resumes after the id it last saw (SSE `Last-Event-ID`) gets exactly the later events.
//
// A task retried from a step has several runs (the same workflow id, one after another), and each run's
// history counts from 1: a retry's run (attempt 2 on) numbers its events attempt × 10⁹ + the history event's
// id, so ids keep increasing across the task's runs and a Last-Event-ID from an earlier run resumes at the
// start of a later one. (A history holds at most 51 200 events.)
//
// What the history holds, and what it tells (workflows/agent-task.ts says when each happens):
//   WorkflowExecutionStarted           → task.started   (the request: query, priority, a retry's attempt)
//   MarkerRecorded createTask          → task.planned   (the task id and its plan)
//   MarkerRecorded searchKnowledge     → step.started   (the step's first effect: its knowledge search)
//   MarkerRecorded dispatchCommand     → step.dispatched (its command, to which agent transport), or
//                                        step.queued when its agent type is at its limit (PRISM_AGENT_LIMITS)
//   WorkflowExecutionSignaled agentResponse, or the Temporal agent's ActivityTaskCompleted/Failed/TimedOut,
//   or the dispatchCommand marker's own `answer` (flow version 3: a Kafka agent's answer that came while
//   its dispatch waited; then step.answered follows step.dispatched with the same id + .5)
//                                      → step.answered  (the agent's answer; the first per step counts)
//   UpsertWorkflowSearchAttributes TaskStatus=WAITING_APPROVAL → step.waiting_approval
//   WorkflowExecutionUpdateAccepted approveStep/rejectStep      → step.approved / step.rejected
//   WorkflowExecutionCompleted/Failed/Canceled/Terminated/TimedOut → task.ended (status, reason, outcome)
// Store steps are local activities: their markers name the activity type and hold its result, but not its
// input. A knowledge search's result names its step; in runs recorded before it did, the step is found from
// the plan: the steps of one layer schedule their searches together, in plan order, with consecutive
// sequence numbers. A step waiting for approval is told by the TaskStatus search attribute and the plan's
// approval steps (createTask's result); a decision by the update that took it, or by the deadline when the
// status leaves WAITING_APPROVAL without one.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { agentResponseSignal, planLayers } from './contract.ts';
import { commandIdFor } from './ids.ts';
import type { AgentResponse, PlanStep, TaskOutcome } from './contract.ts';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type Payload = proto.temporal.api.common.v1.IPayload;
type Failure = proto.temporal.api.failure.v1.IFailure;

// The updates that decide a step waiting for approval (src/task/contract.ts: approveStepUpdate, rejectStepUpdate).
const approveStepUpdate = 'approveStep';
const rejectStepUpdate = 'rejectStep';

export const taskEventTypes = [
  'task.started',
  'task.planned',
  'step.started',
  'step.queued',
  'step.dispatched',
  'step.answered',
  'step.waiting_approval',
  'step.approved',
  'step.rejected',
  'task.ended',
] as const;
export type TaskEventType = (typeof taskEventTypes)[number];

/** Ids of a retry's run: attempt × this + the history event's id. */
export const runIdSpan = 1_000_000_000;

/** The id of the event at this history event id, in the run of this attempt. */
export const eventIdOf = (attempt: number, historyEventId: number): number =>
  (attempt > 1 ? attempt * runIdSpan : 0) + historyEventId;

/**
 * One event of a task's run. `id` is the history event's id in that run (a decimal integer), plus
 * attempt × 10⁹ in a retry's run (see the header); a step's answer that came with its dispatch shares the
 * dispatch's history event and takes its id + 0.5 (`12.5` after `12`).
 */
export interface TaskEvent {
  id: string;
  type: TaskEventType;
  workflowId: string;
  runId: string;
  /** When Temporal recorded it (ISO 8601, UTC). */
  at: string;
  /** The step it is about (step.* events); null when the history does not say which. */
  stepKey?: string | null;
  data: Record<string, unknown>;
}

/** How a task's run ended, as task.ended says it. */
export type EndedStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED';

const decode = (payload: Payload | null | undefined): unknown => {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as never);
  } catch {
    return undefined;
  }
};
const first = (payloads: { payloads?: Payload[] | null } | null | undefined): unknown =>
  decode(payloads?.payloads?.[0]);
const num = (v: unknown): number => (v == null ? 0 : Number(String(v)));
const timeOf = (e: HistoryEvent): string => {
  const t = e.eventTime;
  if (!t) return new Date(0).toISOString();
  return new Date(num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
};
const asRecord = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** The failure's innermost message (an activity failure wraps the application's). */
function failureMessage(failure: Failure | null | undefined): string {
  let f = failure;
  let message = f?.message ?? '';
  while (f?.cause) {
    f = f.cause;
    if (f.message) message = f.message;
  }
  return message || 'failed';
}

interface Mapper {
  /** The task events this history event tells, in order: none, one, or a dispatch and its answer. */
  (event: HistoryEvent): TaskEvent[];
}

/**
 * Turns a run's history events, given in order from the first, into task events. Stateful: it needs every
 * event of the run, even those before the ones a resuming client wants (they tell the plan).
 */
export function createTaskEventMapper(workflowId: string, runId: string): Mapper {
  const map = createMapper(workflowId, runId);
  return (e) => {
    const out = map(e);
    return out === null ? [] : Array.isArray(out) ? out : [out];
  };
}

function createMapper(
  workflowId: string,
  runId: string,
): (e: HistoryEvent) => TaskEvent | TaskEvent[] | null {
  let attempt = 1;
  let plan: PlanStep[] = [];
  let layers: PlanStep[][] = [];
  let approvalSteps = new Set<string>();
  const decided = new Set<string>();
  let waitingSteps: string[] = [];
  // The wait was cancelled (the task's cancel asked for, a step failed): its end is no deadline's rejection.
  let waitCancelled = false;
  const holders = new Map<string, string>(); // admission slot holder (the step's command id) → step key
  const reused = new Set<string>();
  const started = new Set<string>();
  const answered = new Set<string>();
  const commandSteps = new Map<string, string>(); // commandId → step key
  const activitySteps = new Map<number, string>(); // scheduled event id of a Temporal agent's activity → step
  const agentTypeOf = (key: string | null) => plan.find((s) => s.key === key)?.agentType ?? null;
  let maxSeq = 0;
  let layerBase: { layer: number; base: number } | null = null;
  let lastStatus: string | null = null;

  const event = (
    e: HistoryEvent,
    type: TaskEventType,
    data: Record<string, unknown>,
    stepKey?: string | null,
  ): TaskEvent => ({
    id: String(eventIdOf(attempt, num(e.eventId))),
    type,
    workflowId,
    runId,
    at: timeOf(e),
    ...(stepKey !== undefined ? { stepKey } : {}),
    data,
  });

  /** The step whose knowledge search has this sequence number (see the header). */
  const searchedStep = (seq: number): string | null => {
    const layer = layers.findIndex((l) => l.some((s) => !started.has(s.key) && !reused.has(s.key)));
    if (layer < 0) return null;
    if (layerBase?.layer !== layer) layerBase = { layer, base: maxSeq + 1 };
    const candidates = layers[layer]!.filter((s) => !reused.has(s.key));
    return candidates[seq - layerBase.base]?.key ?? null;
  };

  const answer = (e: HistoryEvent, stepKey: string, response: Partial<AgentResponse>): TaskEvent | null => {
    if (answered.has(stepKey)) return null; // the workflow keeps the first answer of a step
    answered.add(stepKey);
    if (response.status !== 'SUCCESS') waitCancelled = true; // the task fails: its waits are cancelled
    return event(
      e,
      'step.answered',
      {
        agentType: agentTypeOf(stepKey),
        commandId: response.commandId ?? null,
        agentId: response.agentId ?? null,
        status: response.status ?? 'FAILED',
        ...(response.error ? { error: response.error } : {}),
        ...(response.durationMs !== undefined ? { durationMs: response.durationMs } : {}),
        result: response.result ?? null,
      },
      stepKey,
    );
  };

  const ended = (e: HistoryEvent, status: EndedStatus, reason: string | null, outcome: unknown) =>
    event(e, 'task.ended', {
      status,
      reason,
      outcome: outcome && typeof outcome === 'object' ? (outcome as TaskOutcome) : null,
    });

  return (e) => {
    const a = e.markerRecordedEventAttributes;
    if (e.workflowExecutionStartedEventAttributes) {
      const s = e.workflowExecutionStartedEventAttributes;
      const request = asRecord(first(s.input));
      const retry = asRecord(request.retry);
      for (const key of Object.keys(asRecord(retry.completed))) reused.add(key);
      if (typeof retry.attempt === 'number' && retry.attempt > 1) attempt = Math.floor(retry.attempt);
      return event(e, 'task.started', {
        requestId: request.requestId ?? null,
        query: typeof request.query === 'string' ? request.query.slice(0, 500) : null,
        priority: request.priority ?? 'NORMAL',
        agentType: request.agentType ?? null,
        attempt,
        ...(retry.fromStep ? { fromStep: retry.fromStep, reusedSteps: [...reused] } : {}),
      });
    }
    if (a && a.markerName === 'core_local_activity') {
      const info = asRecord(first(a.details?.data));
      const activityType = String(info.activity_type ?? '');
      const seq = num(info.seq ?? info.activity_id);
      const result = asRecord(first(a.details?.result));
      let out: TaskEvent | TaskEvent[] | null = null;
      if (activityType === 'createTask' && !a.failure) {
        plan = (result.plan as PlanStep[] | undefined) ?? [];
        approvalSteps = new Set(Object.keys(asRecord(result.approvals)));
        for (const s of plan) {
          // The slot's holder is the step's command id in this run (activities/admission.ts slotHolderFor).
          holders.set(commandIdFor(String(result.taskId), s.key, attempt), s.key);
        }
        try {
          layers = planLayers(plan);
        } catch {
          layers = [plan];
        }
        out = event(e, 'task.planned', {
          taskId: result.taskId ?? null,
          steps: plan.map((s) => ({ key: s.key, agentType: s.agentType, dependsOn: s.dependsOn })),
          ...(reused.size > 0 ? { reusedSteps: [...reused] } : {}),
          ...(approvalSteps.size > 0 ? { approvalSteps: [...approvalSteps] } : {}),
        });
      } else if (activityType === 'searchKnowledge') {
        const stepKey = typeof result.stepKey === 'string' ? result.stepKey : searchedStep(seq);
        if (stepKey) started.add(stepKey);
        const hits = Array.isArray(result.hits) ? result.hits.length : 0;
        out = event(
          e,
          'step.started',
          {
            agentType: agentTypeOf(stepKey),
            knowledgeHits: hits,
            ...(result.error ? { knowledgeError: result.error } : {}),
          },
          stepKey,
        );
      } else if (activityType === 'dispatchCommand' && !a.failure && 'waiting' in result) {
        const slot = asRecord(result.slot);
        const stepKey = holders.get(String(slot.holder)) ?? null;
        out = event(
          e,
          'step.queued',
          {
            agentType: slot.agentType ?? agentTypeOf(stepKey),
            position: asRecord(result.waiting).position ?? null,
            limit: slot.limit ?? null,
          },
          stepKey,
        );
      } else if (activityType === 'dispatchCommand' && !a.failure) {
        const command = asRecord(result.command);
        const stepKey = typeof command.stepKey === 'string' ? command.stepKey : null;
        if (stepKey) {
          started.add(stepKey);
          if (typeof command.commandId === 'string') commandSteps.set(command.commandId, stepKey);
        }
        out = event(
          e,
          'step.dispatched',
          {
            agentType: command.agentType ?? agentTypeOf(stepKey),
            commandId: command.commandId ?? null,
            transport: result.transport ?? null,
            ...(result.taskQueue ? { taskQueue: result.taskQueue } : {}),
            deadlineAt: command.deadlineAt ?? null,
          },
          stepKey,
        );
        // The answer came while the dispatch waited for it (flow version 3): the same history event.
        const inline = stepKey && result.answer ? answer(e, stepKey, asRecord(result.answer)) : null;
        if (inline) out = [out, { ...inline, id: `${out.id}.5` }];
      }
      maxSeq = Math.max(maxSeq, seq);
      return out;
    }
    if (e.activityTaskScheduledEventAttributes) {
      const s = e.activityTaskScheduledEventAttributes;
      maxSeq = Math.max(maxSeq, num(s.activityId) || 0);
      const command = asRecord(first(s.input));
      if (typeof command.stepKey === 'string') activitySteps.set(num(e.eventId), command.stepKey);
      return null;
    }
    if (e.activityTaskCompletedEventAttributes) {
      const s = e.activityTaskCompletedEventAttributes;
      const stepKey = activitySteps.get(num(s.scheduledEventId));
      return stepKey ? answer(e, stepKey, first(s.result) as Partial<AgentResponse>) : null;
    }
    const lost = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (lost) {
      const stepKey = activitySteps.get(num(lost.scheduledEventId));
      return stepKey
        ? answer(e, stepKey, { status: 'FAILED', error: failureMessage(lost.failure), result: {} })
        : null;
    }
    if (e.workflowExecutionSignaledEventAttributes) {
      const s = e.workflowExecutionSignaledEventAttributes;
      if (s.signalName !== agentResponseSignal) return null;
      const response = asRecord(first(s.input)) as Partial<AgentResponse>;
      const stepKey =
        typeof response.stepKey === 'string'
          ? response.stepKey
          : response.commandId
            ? commandSteps.get(response.commandId)
            : undefined;
      // An answer that names no step of this plan (a stray, a malformed payload) the workflow drops too.
      if (!stepKey || (plan.length > 0 && !plan.some((p) => p.key === stepKey))) return null;
      return answer(e, stepKey, response);
    }
    if (e.workflowExecutionCancelRequestedEventAttributes) {
      waitCancelled = true;
      return null;
    }
    if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      const status = fields.TaskStatus ? decode(fields.TaskStatus) : undefined;
      if (typeof status !== 'string') return null;
      const previous = lastStatus;
      lastStatus = status;
      if (status === 'WAITING_APPROVAL' && previous !== 'WAITING_APPROVAL') {
        waitCancelled = false;
        // Which steps wait: the approval steps whose turn has come (their dependencies answered), undecided.
        const succeeded = (key: string) => reused.has(key) || answered.has(key);
        waitingSteps = plan
          .filter(
            (s) =>
              approvalSteps.has(s.key) &&
              !decided.has(s.key) &&
              !started.has(s.key) &&
              s.dependsOn.every(succeeded),
          )
          .map((s) => s.key);
        return event(
          e,
          'step.waiting_approval',
          { steps: waitingSteps },
          waitingSteps.length === 1 ? waitingSteps[0]! : null,
        );
      }
      if (status === 'ACTIVE' && previous === 'WAITING_APPROVAL') {
        // Waiting no more, and no update decided it: its deadline rejected it — unless the wait was cancelled
        // (a run before the `approval-cancel-keeps-status` patch showed ACTIVE then; a later one goes from
        // WAITING_APPROVAL to its end, which rejects nothing).
        const expired = waitCancelled ? [] : waitingSteps.filter((key) => !decided.has(key));
        waitingSteps = [];
        if (expired.length === 0) return null;
        for (const key of expired) decided.add(key);
        return event(
          e,
          'step.rejected',
          { by: 'deadline', reason: 'no decision before the deadline', automatic: true, steps: expired },
          expired.length === 1 ? expired[0]! : null,
        );
      }
      return null;
    }
    if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      // Accepted: its validator found the step waiting, and the handler decides it at once. (Its completion
      // is recorded after what the run did next, the status leaving WAITING_APPROVAL among it.)
      const input = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input;
      if (input?.name !== approveStepUpdate && input?.name !== rejectStepUpdate) return null;
      const decision = asRecord(first(input.args));
      const stepKey = typeof decision.stepKey === 'string' ? decision.stepKey : null;
      if (stepKey) decided.add(stepKey);
      return event(
        e,
        input.name === approveStepUpdate ? 'step.approved' : 'step.rejected',
        {
          by: typeof decision.by === 'string' ? decision.by.trim() : null,
          reason: typeof decision.reason === 'string' ? decision.reason.trim() : null,
          automatic: false,
          decidedAt: timeOf(e),
        },
        stepKey,
      );
    }
    if (e.workflowExecutionCompletedEventAttributes) {
      return ended(e, 'COMPLETED', null, first(e.workflowExecutionCompletedEventAttributes.result));
    }
    if (e.workflowExecutionFailedEventAttributes) {
      const failure = e.workflowExecutionFailedEventAttributes.failure;
      const outcome = first(failure?.applicationFailureInfo?.details);
      const reason = failure?.message || failureMessage(failure);
      return ended(e, 'FAILED', reason, outcome);
    }
    if (e.workflowExecutionCanceledEventAttributes) {
      return ended(e, 'CANCELLED', 'cancelled by request', null);
    }
    if (e.workflowExecutionTerminatedEventAttributes) {
      const reason = e.workflowExecutionTerminatedEventAttributes.reason;
      return ended(e, 'FAILED', `terminated${reason ? `: ${reason}` : ''}`, null);
    }
    if (e.workflowExecutionTimedOutEventAttributes) {
      return ended(e, 'FAILED', 'the run timed out', null);
    }
    return null;
  };
}

/** Which run of a workflow to follow: the given one, or the latest. Null when Temporal has none. */
export async function runToWatch(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<{ runId: string; status: string; historyLength: number } | null> {
  try {
    const described = await client.workflow.getHandle(workflowId, runId).describe();
    return { runId: described.runId, status: described.status.name, historyLength: described.historyLength };
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}

export interface WatchOptions {
  /** Yield only events after this id (the SSE `Last-Event-ID`). */
  after?: number;
  /** Stops the long poll (a client that went away). */
  signal?: AbortSignal;
  /** Given the run's task.ended, yielded or not (one at or before `after` is not): how the run ended. */
  onEnded?: (event: TaskEvent) => void;
}

/**
 * One page of a run's history as task events after `after`; `ended` once task.ended is read (given to
 * `onEnded` even when it is not after `after`).
 */
export function pageEvents(
  map: Mapper,
  historyEvents: readonly HistoryEvent[],
  after: number,
  onEnded?: (event: TaskEvent) => void,
): { events: TaskEvent[]; ended: boolean } {
  const events: TaskEvent[] = [];
  for (const historyEvent of historyEvents) {
    for (const taskEvent of map(historyEvent)) {
      if (Number(taskEvent.id) > after) events.push(taskEvent);
      if (taskEvent.type === 'task.ended') {
        onEnded?.(taskEvent);
        return { events, ended: true };
      }
    }
  }
  return { events, ended: false };
}

/**
 * The task events of one run, as they happen: its history is read from the first event and then
 * long-polled (`waitNewEvent`), so a call waits on Temporal's side until there is more. Ends after
 * task.ended. Aborting `signal` cancels the poll in flight (the generator then throws an AbortError).
 */
export async function* watchRunEvents(
  client: Client,
  workflowId: string,
  runId: string,
  options: WatchOptions = {},
): AsyncGenerator<TaskEvent> {
  const after = options.after ?? 0;
  const map = createTaskEventMapper(workflowId, runId);
  const signal = options.signal ?? new AbortController().signal;
  let nextPageToken: Uint8Array | undefined;
  for (;;) {
    signal.throwIfAborted();
    const page = await client.withAbortSignal(signal, () =>
      client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId },
        nextPageToken: nextPageToken ?? null,
        waitNewEvent: true,
        skipArchival: true,
      }),
    );
    const { events, ended } = pageEvents(map, page.history?.events ?? [], after, options.onEnded);
    yield* events;
    if (ended) return;
    // No token: the run is closed and every event has been read.
    if (!page.nextPageToken || page.nextPageToken.length === 0) return;
    nextPageToken = page.nextPageToken;
  }
}

/**
 * A Last-Event-ID as sent: a non-negative integer, or one + .5 (an answer that came with its dispatch), else
 * none (start from the first event).
 */
export function parseLastEventId(value: unknown): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string' || !/^\d{1,15}(\.5)?$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/** One line for people: the time, the event, and what it says. */
export function describeTaskEvent(event: TaskEvent): string {
  const d = event.data;
  const step = event.stepKey ? `${event.stepKey}${d.agentType ? ` (${String(d.agentType)})` : ''}` : '';
  const time = event.at.slice(11, 23);
  const what = (() => {
    switch (event.type) {
      case 'task.started':
        return `${String(d.priority)} "${String(d.query ?? '')}"${Number(d.attempt) > 1 ? ` — retry ${String(d.attempt)} from step ${String(d.fromStep)}` : ''}`;
      case 'task.planned':
        return `task ${String(d.taskId)}: ${(d.steps as { key: string }[]).map((s) => s.key).join(', ')}`;
      case 'step.started':
        return `${step}: ${String(d.knowledgeHits)} knowledge hit(s)${d.knowledgeError ? ` (${String(d.knowledgeError)})` : ''}`;
      case 'step.queued':
        return `${step}: ${String(d.agentType)} is at its limit of ${String(d.limit)} — waiting, position ${String(d.position)}`;
      case 'step.dispatched':
        return `${step} → ${String(d.transport)}${d.taskQueue ? ` ${String(d.taskQueue)}` : ''}, command ${String(d.commandId)}`;
      case 'step.answered':
        return `${step}: ${String(d.status)} from ${String(d.agentId)}${d.error ? ` — ${String(d.error)}` : ''}`;
      case 'step.waiting_approval':
        return `${step || (d.steps as string[]).join(', ')} waits for a person's approval`;
      case 'step.approved':
      case 'step.rejected':
        return `${step || (d.steps as string[] | undefined)?.join(', ') || '?'} by ${String(d.by)}${d.reason ? `: ${String(d.reason)}` : ''}`;
      case 'task.ended':
        return `${String(d.status)}${d.reason ? ` — ${String(d.reason)}` : ''}`;
    }
  })();
  return `${time}  #${event.id.padEnd(4)} ${event.type.padEnd(21)} ${what}`;
}
