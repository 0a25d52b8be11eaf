// What the end-to-end tests share: the application running in this process — the task worker (with the
// user.queries ingress, the agent-answer bridge and the alert handler) and, where a test needs backups, scans
// or escalations, the maintenance worker — against the real services.
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { startMaintenanceWorker } from '../../src/worker/maintenance.ts';
import { env, waitFor as poll } from '../helpers.ts';

export async function startTestWorker(): Promise<RunningWorker> {
  return startWorker(env, { metricsPort: null, log: () => {} });
}

/** The maintenance worker of the tests' deployment (its own maintenance queue). */
export async function startTestMaintenanceWorker(): Promise<RunningWorker> {
  return startMaintenanceWorker(env, { metricsPort: null, log: () => {} });
}

/** The shared `waitFor` with the end-to-end tests' longer default wait (the whole flow may be behind it). */
export function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  return poll(what, check, timeoutMs, 250);
}
