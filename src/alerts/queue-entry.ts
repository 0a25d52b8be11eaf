// An alert the handler knows, as its entry in the Redis alert queue (what downstream handlers read).
import type { AlertInput } from '../stores/redis/alert-schema.ts';
import type { AlertState } from './decide.ts';

export function queueEntry(alert: AlertState): AlertInput {
  return {
    severity: alert.severity,
    source: alert.source,
    message: alert.message,
    occurredAt: alert.changedAt,
    fingerprint: alert.fingerprint,
    name: alert.name,
    status: alert.status,
    ...(alert.lastChange ? { change: alert.lastChange } : {}),
    labels: alert.labels,
    ...(alert.taskId ? { taskId: alert.taskId } : {}),
    ...(alert.agentId ? { agentId: alert.agentId } : {}),
    details: {
      startsAt: alert.startsAt,
      ...(alert.endsAt ? { endsAt: alert.endsAt } : {}),
      events: alert.events,
      ...(alert.acknowledgedBy ? { acknowledgedBy: alert.acknowledgedBy } : {}),
      ...(alert.status === 'RESOLVED' && alert.resolvedBy ? { resolvedBy: alert.resolvedBy } : {}),
    },
  };
}

/** The queue's once-only key of an alert's latest change. */
export const changeKeyOf = (alert: AlertState) => ({
  fingerprint: alert.fingerprint,
  changedAtMs: Date.parse(alert.changedAt),
});
