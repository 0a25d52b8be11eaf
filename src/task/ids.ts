// The ids of a task and its parts, all derived from the request id (so every retry and re-delivery
// lands on the same rows and messages), and the one parser of what people call a task by.
import { createHash } from 'node:crypto';
import { runScoped, workflowIdFor, workflowIdPrefix } from './contract.ts';

// A fixed namespace for the product's name-based UUIDs (RFC 9562 version 5).
const namespace = Buffer.from('6f0a3c52e1b44b0f9b3e8d2a7c1e5f90', 'hex');

/** The same name always gives the same UUID: ids of retried steps stay the same, so their effects dedupe. */
export function uuidFrom(name: string): string {
  const hash = createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A UUID in its usual text form (any version). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const taskIdFor = (requestId: string) => uuidFrom(`task:${requestId}`);
export const planIdFor = (taskId: string) => uuidFrom(`plan:${taskId}`);
export const subtaskIdFor = (taskId: string, stepKey: string) => uuidFrom(`subtask:${taskId}:${stepKey}`);
/** The Redis real-time counter of the tasks that ended with this status (counted once per task). */
export const finishedTasksMetric = (status: string) => `tasks.finished.${status}`;

/** The Redis shared-memory namespace of one task's steps (cleared when the task ends). */
export const taskMemoryNamespace = (taskId: string) => `task.${taskId}`;
/** A step's command; a retry's run (attempt 2 on) sends a new one: `command:<taskId>:<stepKey>@<attempt>`. */
export const commandIdFor = (taskId: string, stepKey: string, attempt?: number) =>
  uuidFrom(runScoped(`command:${taskId}:${stepKey}`, attempt));

/**
 * How people name a task: by its task id (a UUID), its request id, or its workflow id (`task-<request id>`).
 * A UUID may be a task id or a request id (clients often use UUIDs as request ids): `taskId` is set for
 * the first reading, `workflowId` for the second.
 */
export interface TaskRef {
  ref: string;
  taskId: string | null;
  workflowId: string;
}

export function parseTaskRef(ref: string): TaskRef {
  return {
    ref,
    taskId: uuidPattern.test(ref) ? ref.toLowerCase() : null,
    workflowId: ref.startsWith(workflowIdPrefix) ? ref : workflowIdFor(ref),
  };
}
