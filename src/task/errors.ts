// What goes wrong with a task the caller named, worded once for every edge (the API's 404 and 409, the CLI's
// exit code 2): the codes and their mappings are in src/errors.ts.
import { PrismError } from '../errors.ts';

/** No task has this id (task id, request id or workflow id). */
export function taskNotFound(id: string): PrismError {
  return new PrismError(
    'TASK_NOT_FOUND',
    `no task "${id}" in PostgreSQL or Temporal: check the id (task id, request id or workflow id); ` +
      'a task submitted a moment ago appears once the orchestrator has started it',
    { details: { id } },
  );
}

/** A cancel of a task that has ended (or not started). */
export function taskNotRunning(id: string, status: string): PrismError {
  return new PrismError(
    'TASK_NOT_RUNNING',
    `task ${id} is not running (${status}): only a running task can be cancelled`,
    { details: { id, status } },
  );
}

/** Feedback for a task whose record PostgreSQL does not hold yet. */
export function taskNotRecorded(workflowId: string): PrismError {
  return new PrismError(
    'TASK_NOT_RECORDED',
    `task ${workflowId} is starting and has no record yet: retry in a moment`,
    { details: { workflowId } },
  );
}
