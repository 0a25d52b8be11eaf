// What an alert event does to the alert it belongs to (by fingerprint): the handler's one rule, pure.
// An alert is raised when it starts firing, changed when its severity moves, resolved when it stops;
// a repeat of what is already known changes nothing, and an acknowledged alert is not raised again
// unless its severity rises (or it resolves and fires anew, a new episode).
import type { AlertEvent, AlertSeverity, AlertStatus } from './event.ts';

export interface AlertState {
  fingerprint: string;
  name: string;
  status: AlertStatus;
  severity: AlertSeverity;
  source: string;
  message: string;
  labels: Record<string, string>;
  /** When this episode started firing. */
  startsAt: string;
  endsAt?: string;
  /** When it last changed in a way the queue is told of, and how. */
  changedAt: string;
  lastChange?: Exclude<AlertChange, null>;
  /** When an event about it last arrived, repeats included. */
  seenAt: string;
  /** How many events arrived in this episode. */
  events: number;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedBy?: string;
  escalatedAt?: string;
  taskId?: string;
  agentId?: string;
}

/** What the queue gets: a raised, changed, resolved or escalated alert; null: nothing new to tell. */
export type AlertChange = 'raised' | 'changed' | 'resolved' | 'escalated' | null;

const rank: Record<AlertSeverity, number> = { INFO: 0, WARNING: 1, ERROR: 2, CRITICAL: 3 };

export function decide(
  current: AlertState | null,
  event: AlertEvent,
  now: string,
): { change: AlertChange; next: AlertState | null } {
  if (event.status === 'RESOLVED') {
    if (!current || current.status === 'RESOLVED') return { change: null, next: current };
    return {
      change: 'resolved',
      next: {
        ...current,
        lastChange: 'resolved',
        resolvedBy: event.source,
        status: 'RESOLVED',
        endsAt: event.endsAt ?? now,
        message: event.message,
        changedAt: now,
        seenAt: now,
        events: current.events + 1,
      },
    };
  }
  const base = {
    fingerprint: event.fingerprint,
    name: event.name,
    status: 'FIRING' as const,
    severity: event.severity,
    source: event.source,
    message: event.message,
    labels: event.labels,
    seenAt: now,
    ...(event.taskId ? { taskId: event.taskId } : {}),
    ...(event.agentId ? { agentId: event.agentId } : {}),
  };
  if (!current || current.status === 'RESOLVED') {
    // A new episode: nothing of an earlier one carries over (its acknowledgement least of all).
    return {
      change: 'raised',
      next: { ...base, startsAt: event.startsAt, changedAt: now, lastChange: 'raised', events: 1 },
    };
  }
  const kept = { ...current, ...base, startsAt: current.startsAt, events: current.events + 1 };
  if (event.severity === current.severity)
    return { change: null, next: { ...kept, changedAt: current.changedAt } };
  if (current.acknowledgedAt && rank[event.severity] < rank[current.severity]) {
    return { change: null, next: { ...kept, changedAt: current.changedAt } };
  }
  // The severity moved: tell the queue; a rise also lifts an acknowledgement (someone must look again).
  const risen = rank[event.severity] > rank[current.severity];
  const next: AlertState = { ...kept, changedAt: now, lastChange: 'changed' };
  if (risen) {
    delete next.acknowledgedAt;
    delete next.acknowledgedBy;
    delete next.escalatedAt;
  }
  return { change: 'changed', next };
}
