// A task's run in Temporal, from the outside: start it (once per request id), read it, wait for it, cancel
// it. Shared by the Kafka ingress, the HTTP API, the CLI and the benchmark. A task that FAILED is a run that
// failed (its outcome in the failure's details); a cancelled task is a cancelled run.
import {
  ApplicationFailure,
  CancelledFailure,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { temporalRetryBudgetMs } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { ValidationError, type FieldProblem } from '../validation.ts';
import {
  failureTypes,
  progressQuery,
  workflowIdFor,
  workflowIdPrefix,
  workflowType,
  type TaskOutcome,
  type TaskProgress,
  type TaskRequest,
  type TaskStatus,
} from './contract.ts';
import { temporalPriorityOf } from '../admission/policy.ts';
import { taskIdFor } from './ids.ts';
import { normaliseSubmittedTaskRequest } from './schemas.ts';
import { activeTraceId } from '../tracing.ts';

export interface StartedTask {
  taskId: string;
  workflowId: string;
  /** False when this request id had already started a task (the request is answered, not repeated). */
  started: boolean;
}

/**
 * Validates the request and starts its workflow, once per request id: a finished task's id is never
 * reused (REJECT_DUPLICATE), so the same request id gets the same task back. Throws ValidationError (also
 * for a request that carries `retry`: only retryTask starts a retry's run).
 */
export async function startTask(
  client: Client,
  env: Pick<Env, 'TEMPORAL_TASK_QUEUE'>,
  input: TaskRequest,
): Promise<StartedTask> {
  const request = normaliseSubmittedTaskRequest(input);
  const workflowId = workflowIdFor(request.requestId);
  const taskId = taskIdFor(request.requestId);
  try {
    // The workflow sets its own search attributes and memo, whichever client starts it; the starter adds
    // the trace the task runs in (a traced request's: the task view shows it), with no write of its own.
    const traceId = activeTraceId();
    await client.workflow.start(workflowType, {
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [request],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // The task's priority orders its run, and its activities (which inherit it), in every backlogged task
      // queue; its fairness key (its user, or its plant line) takes turns with the others' (docs/workflows.md).
      priority: temporalPriorityOf(request),
      ...(traceId ? { memo: { traceId } } : {}),
    });
    return { taskId, workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { taskId, workflowId, started: false };
    throw err;
  }
}

/** The run as Temporal sees it now. */
export interface LiveTask {
  /** Temporal's own status of the run: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT. */
  runStatus: string;
  /** The OpenTelemetry trace the task runs in (its memo's `traceId`), when it was started traced. */
  traceId?: string;
  status: TaskStatus;
  /** The `progress` query of a running task. */
  progress: TaskProgress | null;
  /** How it ended, once it has. */
  outcome: TaskOutcome | null;
}

/** The task's run, or null when Temporal has none. A running one is asked its progress (needs a worker). */
export async function liveTask(client: Client, workflowId: string): Promise<LiveTask | null> {
  const handle = client.workflow.getHandle(workflowId);
  let runStatus: string;
  let trace: { traceId?: string } = {};
  try {
    const description = await handle.describe();
    runStatus = description.status.name;
    if (typeof description.memo?.traceId === 'string') trace = { traceId: description.memo.traceId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  if (runStatus === 'RUNNING') {
    const progress = await handle.query<TaskProgress>(progressQuery);
    return { runStatus, status: progress.status, progress, outcome: null, ...trace };
  }
  const outcome = await waitForTask(client, workflowId);
  return { runStatus, status: outcome.status, progress: null, outcome, ...trace };
}

/** An invalid request that a client started without validating it: the run failed before the task existed. */
export class InvalidTaskRunError extends ValidationError {
  constructor(problems: FieldProblem[]) {
    super(problems, 'invalid task request', 'INVALID_TASK_REQUEST');
    this.name = 'InvalidTaskRunError';
  }
}

/** Waits for a task to end and returns its outcome, however it ended. */
/** gRPC codes of a server that is there but cannot answer now (its persistence frozen or restarting). */
const transientCodes = new Set([4, 8, 13, 14]); // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE

/** The run's result, waited for through a server that stops answering for a while (up to `patienceMs`). */
async function resultRidingOut(client: Client, workflowId: string, patienceMs: number): Promise<unknown> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      return await client.workflow.getHandle(workflowId).result();
    } catch (err) {
      const code = (err instanceof ServiceError ? (err.cause as { code?: number } | undefined) : undefined)
        ?.code;
      if (code === undefined || !transientCodes.has(code) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

export async function waitForTask(client: Client, workflowId: string): Promise<TaskOutcome> {
  try {
    // The history long-poll fails while Temporal's persistence does not answer (PostgreSQL frozen or
    // restarting): wait that out as the SDK's own retries do, about two minutes, then say so.
    return (await resultRidingOut(client, workflowId, temporalRetryBudgetMs)) as TaskOutcome;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.taskFailed) {
      return cause.details?.[0] as TaskOutcome;
    }
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.invalidRequest) {
      throw new InvalidTaskRunError((cause.details ?? []) as FieldProblem[]);
    }
    if (cause instanceof CancelledFailure) return endedOutcome(workflowId, 'CANCELLED', cause.message);
    // Terminated, timed out, or failed outside the task's own logic.
    return endedOutcome(workflowId, 'FAILED', cause?.message ?? err.message);
  }
}

/** The outcome of a run that ended without reporting one (cancelled, terminated): PostgreSQL has the rest. */
function endedOutcome(workflowId: string, status: 'FAILED' | 'CANCELLED', error: string): TaskOutcome {
  return {
    taskId: taskIdFor(workflowId.slice(workflowIdPrefix.length)),
    workflowId,
    status,
    results: {},
    error,
    timings: {},
    durationMs: 0,
  };
}

/** Asks a running task to stop; it records CANCELLED with the reason. False when it was not running. */
export async function cancelTask(client: Client, workflowId: string): Promise<boolean> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return false;
    await handle.cancel();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The Temporal UI page of a task's run. */
export function temporalRunUrl(
  env: Pick<Env, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>,
  workflowId: string,
): string {
  return `${env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}
