// A critical alert that nobody acknowledges in time is escalated: one durable timer per episode, started by
// the alert handler. Acknowledged, resolved or re-raised in the meantime, the activity finds nothing to do.
import { proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/index.ts';

const { escalateAlert } = proxyLocalActivities<MaintenanceActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 30 },
});

export async function alertEscalation(input: {
  fingerprint: string;
  startsAt: string;
  afterMs: number;
}): Promise<{ escalated: boolean }> {
  await sleep(input.afterMs);
  return escalateAlert({ fingerprint: input.fingerprint, startsAt: input.startsAt });
}
