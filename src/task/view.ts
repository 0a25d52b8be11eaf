// One view of a task for every edge (API, CLI, SDK): its PostgreSQL record (query, subtasks, history) and
// its run in Temporal. Either may be missing for a while: the record appears when the workflow's first
// step has run, and a task submitted a moment ago may not have a run yet (the ingress starts it from
// `user.queries`). The stores are passed in.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { ServiceUnavailableError } from '../retry.ts';
import { findTaskWithDetails } from '../stores/postgres/tasks.ts';
import { liveTask, temporalRunUrl, type LiveTask } from './client.ts';
import { workflowIdPrefix } from './contract.ts';
import { parseTaskRef, taskIdFor, type TaskRef } from './ids.ts';
import { taskOutcomeSchema, taskProgressSchema, taskStatusSchema } from './schemas.ts';

const timestamp = z.iso.datetime().describe('ISO 8601, UTC');

const subtaskSchema = z.object({
  id: z.uuid(),
  stepKey: z.string(),
  agentType: z.string(),
  agentId: z.string().nullable(),
  status: z.string(),
  dependsOn: z.array(z.string()),
  output: z.unknown(),
  errorMessage: z.string().nullable(),
  durationMs: z.number().nullable(),
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
});

const historySchema = z.object({
  id: z.string().describe('Sequence number (a 64-bit integer, as a string)'),
  eventKey: z.string(),
  eventType: z.string(),
  subtaskId: z.string().nullable(),
  fromStatus: z.string().nullable(),
  toStatus: z.string().nullable(),
  details: z.unknown(),
  occurredAt: timestamp,
});

/** The task as PostgreSQL records it. */
export const taskRecordSchema = z.object({
  id: z.uuid(),
  requestId: z.string(),
  workflowId: z.string(),
  userId: z.string().nullable(),
  status: taskStatusSchema,
  priority: z.string(),
  query: z.object({ text: z.string(), type: z.string() }).nullable(),
  result: z.unknown(),
  errorMessage: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  totalDurationMs: z.number().nullable(),
  subtasks: z.array(subtaskSchema),
  history: z.array(historySchema),
});
export type TaskRecord = z.infer<typeof taskRecordSchema>;

/** The run as Temporal sees it now. */
export const liveTaskSchema = z.object({
  runStatus: z.string().describe('Temporal’s status of the run: RUNNING, COMPLETED, FAILED, CANCELED, …'),
  status: taskStatusSchema,
  progress: taskProgressSchema.nullable().describe('The `progress` query of a running task'),
  outcome: taskOutcomeSchema.nullable().describe('How the task ended, once it has'),
});

export const taskDetailsSchema = z.object({
  taskId: z.string(),
  requestId: z.string().nullable(),
  workflowId: z.string(),
  status: taskStatusSchema,
  temporalUrl: z.string(),
  record: taskRecordSchema.nullable().describe('null until the workflow has created the task in PostgreSQL'),
  live: liveTaskSchema
    .nullable()
    .describe('null when Temporal has no run of this task (not started yet, or purged)'),
  traceId: z
    .string()
    .nullable()
    .describe(
      'The OpenTelemetry trace the task runs in (docs/monitoring.md#traces); null when it was not traced',
    ),
  traceUrl: z.string().nullable().describe('Where the trace opens in Jaeger'),
  warning: z
    .string()
    .optional()
    .describe('Why part of the view is missing, e.g. no worker answered the progress query'),
});
export type TaskDetails = z.infer<typeof taskDetailsSchema>;

export interface TaskViewDeps {
  prisma: PrismaClient;
  temporal: Client;
  env: Pick<Env, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_ADDRESS'> &
    Partial<Pick<Env, 'JAEGER_URL'>>;
  /** How long to wait for a running task's progress query (it needs a worker). Default 5 s. */
  progressQueryTimeoutMs?: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The PostgreSQL record of a task, found by task id, request id or workflow id. */
export async function findTaskRecord(prisma: PrismaClient, ref: TaskRef): Promise<TaskRecord | null> {
  const row = await findTaskWithDetails(prisma, {
    requestId: ref.ref,
    workflowId: ref.workflowId,
    taskId: ref.taskId,
  });
  if (!row) return null;
  const query = row.queries[0];
  return {
    id: row.id,
    requestId: row.requestId,
    workflowId: row.workflowId,
    userId: row.userId,
    status: row.status,
    priority: row.priority,
    query: query ? { text: query.queryText, type: query.queryType } : null,
    result: row.result,
    errorMessage: row.errorMessage,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
    totalDurationMs: row.totalDurationMs,
    subtasks: row.plans.flatMap((plan) =>
      plan.subtasks.map((s) => ({
        id: s.id,
        stepKey: s.stepKey,
        agentType: s.agentType,
        agentId: s.agentId,
        status: s.status,
        dependsOn: s.dependsOn,
        output: s.output,
        errorMessage: s.errorMessage,
        durationMs: s.durationMs,
        startedAt: iso(s.startedAt),
        completedAt: iso(s.completedAt),
      })),
    ),
    history: row.history.map((h) => ({
      id: h.id.toString(),
      eventKey: h.eventKey,
      eventType: h.eventType,
      subtaskId: h.subtaskId,
      fromStatus: h.fromStatus,
      toStatus: h.toStatus,
      details: h.details,
      occurredAt: h.occurredAt.toISOString(),
    })),
  };
}

interface LiveLookup {
  live: LiveTask | null;
  warning?: string;
  /** Why Temporal could not tell whether the run exists (it did not answer). */
  unanswered?: unknown;
}

/** The run of a workflow id in Temporal, or null when Temporal has none; never hangs on a missing worker. */
async function findLive(deps: TaskViewDeps, workflowId: string): Promise<LiveLookup> {
  const { temporal } = deps;
  const timeoutMs = deps.progressQueryTimeoutMs ?? 5_000;
  try {
    return {
      live: await temporal.withDeadline(Date.now() + timeoutMs, () => liveTask(temporal, workflowId)),
    };
  } catch (queryError) {
    // A running workflow answers its progress query only through a worker: without one the query hangs.
    // Describing the run needs no worker, so the caller still learns whether it runs.
    try {
      const { status } = await temporal.workflow.getHandle(workflowId).describe();
      const running = status.name === 'RUNNING';
      return {
        live: {
          runStatus: status.name,
          status: running ? 'PENDING' : 'FAILED',
          progress: null,
          outcome: null,
        },
        warning: running
          ? `the run is in Temporal but no worker answered its progress query within ${timeoutMs} ms: is \`prism worker\` running?`
          : `Temporal could not return the run's outcome: ${(queryError as Error).message}`,
      };
    } catch (describeError) {
      // No run (yet: a task just submitted, whose workflow the ingress has not started): Temporal answered.
      if (describeError instanceof WorkflowNotFoundError) return { live: null };
      return {
        live: null,
        warning: `Temporal did not answer (${(queryError as Error).message}): the view shows PostgreSQL only`,
        unanswered: describeError,
      };
    }
  }
}

/** Everything known about a task, or null when neither PostgreSQL nor Temporal knows the id. */
export async function findTask(deps: TaskViewDeps, id: string): Promise<TaskDetails | null> {
  const ref = parseTaskRef(id);
  const record = await findTaskRecord(deps.prisma, ref);
  const workflowId = record?.workflowId ?? ref.workflowId;
  const { live, warning, unanswered } = await findLive(deps, workflowId);
  if (!record && !live) {
    // Neither store can say whether the task exists: not a 404, but a service to wait for (503, retried).
    if (unanswered !== undefined) {
      const reason = (unanswered as Error).message ?? String(unanswered);
      throw new ServiceUnavailableError('Temporal', deps.env.TEMPORAL_ADDRESS, reason, 0, {
        cause: unanswered,
      });
    }
    return null;
  }
  const requestId = record?.requestId ?? workflowId.slice(workflowIdPrefix.length);
  // The live status is the freshest, unless it had to be guessed without the progress query.
  const status = live && !warning ? live.status : (record?.status ?? live?.status ?? 'PENDING');
  return {
    taskId: record?.id ?? taskIdFor(requestId),
    requestId,
    workflowId,
    status,
    temporalUrl: temporalRunUrl(deps.env, workflowId),
    traceId: live?.traceId ?? null,
    traceUrl: live?.traceId && deps.env.JAEGER_URL ? `${deps.env.JAEGER_URL}/trace/${live.traceId}` : null,
    record,
    live: live && {
      runStatus: live.runStatus,
      status: live.status,
      progress: live.progress,
      outcome: live.outcome,
    },
    ...(warning ? { warning } : {}),
  };
}

export interface LocatedTask {
  record: TaskRecord | null;
  workflowId: string;
  /** Temporal's status of the run (RUNNING, COMPLETED, ...), null when Temporal has no run. */
  runStatus: string | null;
}

/** Where a task is, without asking its workflow anything (which would need a worker). */
export async function locateTask(
  deps: Pick<TaskViewDeps, 'prisma' | 'temporal'>,
  id: string,
): Promise<LocatedTask | null> {
  const ref = parseTaskRef(id);
  const record = await findTaskRecord(deps.prisma, ref);
  const workflowId = record?.workflowId ?? ref.workflowId;
  try {
    const { status } = await deps.temporal.workflow.getHandle(workflowId).describe();
    return { record, workflowId, runStatus: status.name };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return record ? { record, workflowId, runStatus: null } : null;
}
