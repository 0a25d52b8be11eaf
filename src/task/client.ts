// Starting and reading agent tasks: one function per entry point's need, shared by the Kafka ingress, the
// HTTP API, the SDK, the CLI and the benchmark.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Env } from '../config.ts';
import { temporalUiUrl } from '../stack/health.ts';
import {
  planOf,
  progressQuery,
  validateTaskRequest,
  workflowIdFor,
  workflowType,
  type TaskOutcome,
  type TaskProgress,
  type TaskRequest,
} from './schemas.ts';
import { taskIdFor } from './ids.ts';
import { AgentTypeKey, TaskPriorityKey, TaskStatusKey } from './search-attributes.ts';

export interface StartedTask {
  taskId: string;
  workflowId: string;
  /** False when this request id had already started a task (the request is answered, not repeated). */
  started: boolean;
}

/** Validates the request and starts its workflow, once per request id. Throws InvalidRequestError. */
export async function startTask(
  client: Client,
  env: Pick<Env, 'TEMPORAL_TASK_QUEUE'>,
  input: TaskRequest,
): Promise<StartedTask> {
  const request = validateTaskRequest(input);
  const workflowId = workflowIdFor(request.requestId);
  const taskId = taskIdFor(request.requestId);
  const plan = planOf(request);
  try {
    await client.workflow.start(workflowType, {
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [request],
      // A finished task's id is never reused: the same request id gets the same (finished) task back.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: AgentTypeKey, value: [...new Set(plan.map((s) => s.agentType))].join(',').slice(0, 200) },
        { key: TaskPriorityKey, value: request.priority },
        { key: TaskStatusKey, value: 'PENDING' },
      ]),
      memo: { query: request.query.slice(0, 500), requestId: request.requestId, taskId },
    });
    return { taskId, workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { taskId, workflowId, started: false };
    throw err;
  }
}

export interface TaskView {
  taskId: string;
  workflowId: string;
  status: TaskProgress['status'];
  progress: TaskProgress | null;
  outcome: TaskOutcome | null;
  temporalUrl: string;
}

/** The Temporal UI page of a task's run. */
export function temporalRunUrl(env: Env, workflowId: string): string {
  return `${temporalUiUrl(env)}/namespaces/${encodeURIComponent(env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** A task's live progress (running) or outcome (ended), from Temporal; null when no such task exists. */
export async function getTask(
  client: Client,
  env: Env,
  requestIdOrWorkflowId: string,
): Promise<TaskView | null> {
  const workflowId = requestIdOrWorkflowId.startsWith('task-')
    ? requestIdOrWorkflowId
    : workflowIdFor(requestIdOrWorkflowId);
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    const temporalUrl = temporalRunUrl(env, workflowId);
    const taskId = (description.memo?.taskId as string | undefined) ?? '';
    if (description.status.name === 'RUNNING') {
      const progress = await handle.query<TaskProgress>(progressQuery);
      return { taskId, workflowId, status: progress.status, progress, outcome: null, temporalUrl };
    }
    if (description.status.name === 'COMPLETED') {
      const outcome = (await handle.result()) as TaskOutcome;
      return { taskId, workflowId, status: outcome.status, progress: null, outcome, temporalUrl };
    }
    const status = description.status.name === 'CANCELLED' ? 'CANCELLED' : 'FAILED';
    return { taskId, workflowId, status, progress: null, outcome: null, temporalUrl };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Waits for a task to end and returns its outcome. */
export async function waitForTask(client: Client, workflowId: string): Promise<TaskOutcome> {
  return (await client.workflow.getHandle(workflowId).result()) as TaskOutcome;
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
