// Steering a task from the outside, for every edge (API, CLI; the SDK through the API): retry it from a step,
// and decide a step that waits for a person's approval. Both act on the task's workflow id: a retry is a new
// run under the same id (Temporal lists the task's runs together), a decision an update of the running run.
import { defaultPayloadConverter } from '@temporalio/common';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { temporalPriorityOf } from '../admission/policy.ts';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { PrismError } from '../errors.ts';
import { recordedSteps } from '../stores/postgres/flow.ts';
import { z } from 'zod';
import { problemsOf, storable, ValidationError, type FieldProblem } from '../validation.ts';
import { temporalRunUrl } from './client.ts';
import {
  approveStepUpdate,
  dependentsOf,
  failureTypes,
  planOf,
  rejectStepUpdate,
  workflowType,
  type AgentResponse,
  type ApprovalDecision,
  type ApprovalDecisionInput,
} from './contract.ts';
import { taskNotFound } from './errors.ts';
import { commandIdFor, planIdFor } from './ids.ts';
import { normaliseTaskRequest, type TaskRequest } from './schemas.ts';
import { locateTask } from './view.ts';

/** A retry's reason and who asked for it, as the API's body and the CLI's options take them. */
export const retryReasonSchema = storable(z.string().min(1).max(4000));
export const retryRequestedBySchema = storable(z.string().min(1).max(200));

/** The problems of a retry's reason and requester, named as the caller gave them (`reason`, `--reason`). */
export function retryOptionProblems(
  options: { reason?: string; requestedBy: string },
  names: { reason: string; requestedBy: string } = { reason: 'reason', requestedBy: 'requestedBy' },
): FieldProblem[] {
  return [
    ...(options.reason === undefined
      ? []
      : problemsOf(retryReasonSchema.safeParse(options.reason).error?.issues ?? [], names.reason)),
    ...problemsOf(
      retryRequestedBySchema.safeParse(options.requestedBy).error?.issues ?? [],
      names.requestedBy,
    ),
  ];
}

interface ActionDeps {
  prisma: PrismaClient;
  temporal: Client;
  env: Pick<Env, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>;
}

/** A task that cannot be retried (it completed, it runs, its run is gone). */
export function taskNotRetryable(id: string, status: string, why: string): PrismError {
  return new PrismError('TASK_NOT_RETRYABLE', `task ${id} cannot be retried: ${why}`, {
    details: { id, status },
  });
}

/** An approval decision for a step that does not wait for one. */
export function stepNotWaiting(id: string, stepKey: string, why: string): PrismError {
  return new PrismError('STEP_NOT_WAITING', `task ${id}, step "${stepKey}": ${why}`, {
    details: { id, stepKey },
  });
}

/**
 * The most a retry's start input (the request and every reused answer) may weigh: Temporal refuses a
 * payload over 2 MB (its blob size limit), and the start carries headers and a memo too.
 */
export const maxRetryInputBytes = 1.5 * 1024 * 1024;

/** Refuses (TASK_NOT_RETRYABLE) a retry whose start input would pass maxRetryInputBytes. */
export function checkRetryInputSize(taskId: string, status: string, input: unknown, fromStep: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (bytes <= maxRetryInputBytes) return;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  throw taskNotRetryable(
    taskId,
    status,
    `its run's input with the reused answers would be ${mb(bytes)} MB, over the ${mb(maxRetryInputBytes)} MB ` +
      `a run's input may carry (Temporal's payload limit is 2 MB): retry from a step before "${fromStep}", ` +
      'so that fewer answers are reused',
  );
}

export interface RetriedTask {
  taskId: string;
  workflowId: string;
  /** The new run's id: the task's runs share the workflow id. */
  runId: string;
  /** This run's number within the task (the first run is 1). */
  attempt: number;
  fromStep: string;
  /** Steps whose earlier answers the run reuses (not run again). */
  reused: string[];
  /** Steps the run runs: the step retried from, the steps that depend on it, and those that had not succeeded. */
  rerun: string[];
  temporalUrl: string;
}

/**
 * Starts a new run of a task that FAILED or was CANCELLED (or whose run was terminated), from `fromStep`
 * (default: its first failed step, else its first step that did not succeed). The run reuses the answers
 * PostgreSQL recorded for the steps that succeeded before that step, and runs the rest. A COMPLETED or
 * running task is refused (TASK_NOT_RETRYABLE), a step not in the plan is a ValidationError.
 */
export async function retryTask(
  deps: ActionDeps,
  id: string,
  options: { fromStep?: string; reason?: string; requestedBy: string },
): Promise<RetriedTask> {
  const located = await locateTask(deps, id);
  if (!located) throw taskNotFound(id);
  const { record, workflowId, runStatus } = located;
  const taskId = record?.id ?? id;
  if (runStatus === 'RUNNING')
    throw taskNotRetryable(taskId, 'RUNNING', 'it is running: wait for it to end, or cancel it first');
  if (!record)
    throw taskNotRetryable(taskId, runStatus ?? 'unknown', 'it never started (no record in PostgreSQL)');
  if (record.status === 'COMPLETED' || runStatus === 'COMPLETED')
    throw taskNotRetryable(taskId, 'COMPLETED', 'it COMPLETED; submit a new request to run it again');
  if (runStatus === null)
    throw taskNotRetryable(
      taskId,
      record.status,
      'Temporal no longer has its run (its history passed the retention period), so its request is gone',
    );

  // The request of the task's last run, as its client sent it (a retry's own part dropped).
  const handle = deps.temporal.workflow.getHandle(workflowId);
  const { events } = await handle.fetchHistory();
  const payload = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const started = payload ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) : null;
  if (!started || typeof started !== 'object')
    throw taskNotRetryable(taskId, record.status, 'its run has no request to run again');
  const { retry: previous, ...original } = started as TaskRequest & { retry?: { attempt: number } };
  const request = normaliseTaskRequest(original);
  const plan = planOf(request);

  const steps = await recordedSteps(deps.prisma, planIdFor(taskId));
  const statusOf = new Map(steps.map((s) => [s.step_key, s.status]));
  if (options.fromStep !== undefined && !plan.some((s) => s.key === options.fromStep)) {
    throw new ValidationError(
      [
        {
          field: 'fromStep',
          message: `no step "${options.fromStep}" in the task's plan (its steps: ${plan.map((s) => s.key).join(', ')})`,
        },
      ],
      'invalid retry',
    );
  }
  const fromStep =
    options.fromStep ??
    plan.find((s) => statusOf.get(s.key) === 'FAILED')?.key ??
    plan.find((s) => statusOf.get(s.key) !== 'SUCCESS')?.key ??
    plan[0]!.key;
  const again = new Set([fromStep, ...dependentsOf(plan, fromStep)]);
  const attempt = Math.max(
    (previous?.attempt ?? 1) + 1,
    record.history.filter((h) => h.eventType === 'RETRY_STARTED').length + 2,
  );
  const completed: Record<string, AgentResponse> = {};
  for (const s of steps) {
    if (s.status !== 'SUCCESS' || again.has(s.step_key)) continue;
    completed[s.step_key] = {
      commandId: s.response?.commandId ?? commandIdFor(taskId, s.step_key),
      workflowId,
      stepKey: s.step_key,
      agentId: s.response?.agentId ?? s.agent_id ?? 'unknown',
      status: 'SUCCESS',
      result: (s.output && typeof s.output === 'object' ? s.output : {}) as Record<string, unknown>,
      ...(s.duration_ms !== null ? { durationMs: s.duration_ms } : {}),
    };
  }
  const retry = {
    attempt,
    fromStep,
    completed,
    requestedBy: options.requestedBy,
    ...(options.reason ? { reason: options.reason } : {}),
  };
  const input = { ...original, retry };
  checkRetryInputSize(taskId, record.status, input, fromStep);
  let runId: string;
  try {
    // Same workflow id: allowed because its last run did not complete; one open run per id at a time.
    const started = await deps.temporal.workflow.start(workflowType, {
      taskQueue: deps.env.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      // The same priority and fairness key as the task's first run (src/task/client.ts startTask).
      priority: temporalPriorityOf(request),
    });
    runId = started.firstExecutionRunId;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw taskNotRetryable(taskId, 'RUNNING', 'a run of it started meanwhile (another retry?)');
    throw err;
  }
  return {
    taskId,
    workflowId,
    runId,
    attempt,
    fromStep,
    reused: Object.keys(completed),
    rerun: plan.filter((s) => !(s.key in completed)).map((s) => s.key),
    temporalUrl: temporalRunUrl(deps.env, workflowId),
  };
}

/** How long a decision waits for a worker to take it. */
const decisionPatienceMs = 15_000;

export interface DecidedStep extends ApprovalDecision {
  taskId: string;
  workflowId: string;
}

/**
 * Approves or rejects a step that waits for approval, through the run's `approveStep`/`rejectStep` update:
 * the run's validator refuses at once a step that does not wait (STEP_NOT_WAITING), and the decision —
 * who and why — is in the run's history and, once the run records it, in PostgreSQL's.
 */
export async function decideStep(
  deps: Pick<ActionDeps, 'prisma' | 'temporal'>,
  id: string,
  decision: 'approve' | 'reject',
  input: ApprovalDecisionInput,
): Promise<DecidedStep> {
  const located = await locateTask(deps, id);
  if (!located) throw taskNotFound(id);
  const taskId = located.record?.id ?? id;
  if (located.runStatus !== 'RUNNING') {
    throw stepNotWaiting(
      taskId,
      input.stepKey,
      `the task is not running (${located.runStatus ?? located.record?.status ?? 'unknown'}), so no step waits`,
    );
  }
  const started = Date.now();
  try {
    // An update needs a worker to run the run's validator: without one it would wait for good.
    const decided = await deps.temporal.withDeadline(started + decisionPatienceMs, () =>
      deps.temporal.workflow
        .getHandle(located.workflowId)
        .executeUpdate<ApprovalDecision, [ApprovalDecisionInput]>(
          decision === 'approve' ? approveStepUpdate : rejectStepUpdate,
          { args: [input] },
        ),
    );
    return { taskId, workflowId: located.workflowId, ...decided };
  } catch (err) {
    if (Date.now() - started >= decisionPatienceMs && !(err instanceof WorkflowUpdateFailedError)) {
      throw new PrismError(
        'SERVICE_UNAVAILABLE',
        `no task worker took the decision on task ${taskId}, step "${input.stepKey}" within ` +
          `${decisionPatienceMs / 1000} s (is \`prism worker\` running?); it may still be applied when one does: ` +
          'read the task before deciding again',
        { cause: err },
      );
    }
    if (err instanceof WorkflowNotFoundError)
      throw stepNotWaiting(taskId, input.stepKey, 'the task ended meanwhile, so no step waits');
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.stepNotWaiting)
      throw stepNotWaiting(taskId, input.stepKey, cause.message);
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.invalidDecision)
      throw new ValidationError([{ field: 'body', message: cause.message }], 'invalid decision');
    throw err;
  }
}
