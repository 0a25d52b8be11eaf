// A task as the API shows it: its PostgreSQL record (query, subtasks, history) and its live run in
// Temporal. Either may be missing for a while: the record appears when the workflow's first step has run,
// and a task submitted a moment ago may not have a run yet (the ingress starts it from `user.queries`).
import { WorkflowNotFoundError } from '@temporalio/client';
import { workflowIdFor } from './schemas.ts';
import { taskIdFor } from './ids.ts';
import { getTask, temporalRunUrl } from './client.ts';
import { uuidPattern } from './ids.ts';
import type { ApiDeps } from '../api/deps.ts';
import type { LiveTask, TaskDetails, TaskRecord } from '../api/schemas/tasks.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The PostgreSQL record of a task, found by task id, request id or workflow id. */
export async function findTaskRecord(prisma: ApiDeps['prisma'], id: string): Promise<TaskRecord | null> {
  const row = await prisma.task.findFirst({
    where: { OR: [{ requestId: id }, { workflowId: id }, ...(uuidPattern.test(id) ? [{ id }] : [])] },
    include: {
      queries: { orderBy: { createdAt: 'asc' }, take: 1 },
      plans: { include: { subtasks: { orderBy: { sequenceOrder: 'asc' } } } },
      history: { orderBy: { id: 'asc' } },
    },
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

/** Without a record the id may be a workflow id or a request id; a task UUID cannot be traced back. */
function workflowIdCandidates(id: string, record: TaskRecord | null): string[] {
  if (record) return [record.workflowId];
  return [...new Set([...(id.startsWith('task-') ? [id] : []), workflowIdFor(id)])];
}

interface LiveLookup {
  live: LiveTask | null;
  warning?: string;
}

/** The run of a workflow id in Temporal, or null when Temporal has none. */
export async function findLiveTask(deps: ApiDeps, workflowId: string): Promise<LiveLookup> {
  const { temporal, env } = deps;
  const timeoutMs = deps.progressQueryTimeoutMs ?? 5_000;
  try {
    const view = await temporal.withDeadline(Date.now() + timeoutMs, () =>
      getTask(temporal, env, workflowId),
    );
    return {
      live: view && { status: view.status, progress: view.progress as never, outcome: view.outcome as never },
    };
  } catch (queryError) {
    // A running workflow answers its progress query only through a worker: without one the query hangs.
    // Describing the run needs no worker, so the caller still learns whether it runs.
    try {
      const { status } = await temporal.workflow.getHandle(workflowId).describe();
      const running = status.name === 'RUNNING';
      return {
        live: { status: running ? 'PENDING' : 'FAILED', progress: null, outcome: null },
        warning: running
          ? `the run is in Temporal but no worker answered its progress query within ${timeoutMs} ms: is \`prism worker\` running?`
          : `Temporal could not return the run's outcome: ${(queryError as Error).message}`,
      };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { live: null };
      return {
        live: null,
        warning: `Temporal did not answer (${(err as Error).message}): the view shows PostgreSQL only`,
      };
    }
  }
}

/** Everything known about a task, or null when neither PostgreSQL nor Temporal knows the id. */
export async function resolveTask(deps: ApiDeps, id: string): Promise<TaskDetails | null> {
  const record = await findTaskRecord(deps.prisma, id);
  const candidates = workflowIdCandidates(id, record);
  let found: (LiveLookup & { workflowId: string }) | undefined;
  const warnings: string[] = [];
  for (const workflowId of candidates) {
    const lookup = await findLiveTask(deps, workflowId);
    if (lookup.warning) warnings.push(lookup.warning);
    if (lookup.live) {
      found = { ...lookup, workflowId };
      break;
    }
  }
  if (!record && !found) {
    if (warnings.length > 0) throw new Error(warnings.join('; '));
    return null;
  }
  const workflowId = record?.workflowId ?? found!.workflowId;
  const requestId = record?.requestId ?? workflowId.replace(/^task-/, '');
  const live = found?.live ?? null;
  // The live status is the freshest, unless it had to be guessed without the progress query.
  const status = live && !found?.warning ? live.status : (record?.status ?? live?.status ?? 'PENDING');
  return {
    taskId: record?.id ?? taskIdFor(requestId),
    requestId,
    workflowId,
    status,
    temporalUrl: temporalRunUrl(deps.env, workflowId),
    record,
    live,
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
}

export interface LocatedTask {
  record: TaskRecord | null;
  workflowId: string;
  /** Temporal's status of the run (RUNNING, COMPLETED, ...), null when Temporal has no run. */
  runStatus: string | null;
}

/** Where a task is, without asking its workflow anything (which would need a worker). */
export async function locateTask(deps: ApiDeps, id: string): Promise<LocatedTask | null> {
  const record = await findTaskRecord(deps.prisma, id);
  for (const workflowId of workflowIdCandidates(id, record)) {
    try {
      const { status } = await deps.temporal.workflow.getHandle(workflowId).describe();
      return { record, workflowId, runStatus: status.name };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return record ? { record, workflowId: record.workflowId, runStatus: null } : null;
}
