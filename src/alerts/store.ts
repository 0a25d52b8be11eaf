// The alerts the handler knows, one per fingerprint, in Redis shared memory (namespace `alerts`): changed
// only by compare-and-set, so the handler applying an event and an operator acknowledging the same alert
// never overwrite each other. Resolved alerts are kept for a week for the record, then dropped.
import { PrismError } from '../errors.ts';
import type { Redis } from 'ioredis';
import { createSharedMemory, type SharedMemory } from '../stores/redis/shared-memory.ts';
import { decide, type AlertChange, type AlertState } from './decide.ts';
import type { AlertEvent, AlertStatus } from './event.ts';

const resolvedKeptMs = 7 * 24 * 3600_000;

export class AlertNotFoundError extends PrismError {
  constructor(fingerprint: string) {
    super(
      'ALERT_NOT_FOUND',
      `no alert ${fingerprint}: see \`prism alerts list --all\` (or GET /alerts?status=all)`,
    );
    this.name = 'AlertNotFoundError';
  }
}

export class AlertNotFiringError extends PrismError {
  /** `action`: what was asked of the alert ("acknowledged", "resolved"). */
  constructor(fingerprint: string, action = 'acknowledged') {
    super('ALERT_NOT_FIRING', `alert ${fingerprint} is resolved: only a firing alert can be ${action}`);
    this.name = 'AlertNotFiringError';
  }
}

export interface AlertStore {
  get(fingerprint: string): Promise<AlertState | null>;
  /** Applies an event (see decide.ts); returns what changed and the alert after it. */
  apply(event: AlertEvent, now?: Date): Promise<{ change: AlertChange; alert: AlertState | null }>;
  /** Firing alerts (or all, resolved ones of the last week too), the most recently changed first. */
  list(filter?: { status?: AlertStatus }): Promise<AlertState[]>;
  /** Marks a firing alert acknowledged: not raised again unless its severity rises; no escalation. */
  acknowledge(fingerprint: string, by: string, now?: Date): Promise<AlertState>;
  /** Records the escalation of a still-firing, unacknowledged episode; false when there is nothing to escalate. */
  escalate(fingerprint: string, startsAt: string, now?: Date): Promise<AlertState | null>;
}

export function createAlertStore(redis: Redis, options: { prefix?: string } = {}): AlertStore {
  const memory: SharedMemory = createSharedMemory(redis, { namespace: 'alerts', prefix: options.prefix });
  const read = async (fingerprint: string) => (await memory.read<AlertState>(fingerprint))?.value ?? null;

  return {
    get: read,

    async apply(event, now = new Date()) {
      const current = await read(event.fingerprint);
      if (!current && event.status === 'RESOLVED') return { change: null, alert: null };
      let change: AlertChange = null;
      const { value } = await memory.update<AlertState>(event.fingerprint, (latest) => {
        const decision = decide(latest ?? null, event, now.toISOString());
        change = decision.change;
        return decision.next ?? latest!;
      });
      return { change, alert: value };
    },

    async list(filter = {}) {
      const states = await Promise.all(
        (await memory.keys()).map(async (key) => ({ key, state: await read(key) })),
      );
      const cutoff = Date.now() - resolvedKeptMs;
      const kept: AlertState[] = [];
      for (const { key, state } of states) {
        if (!state) continue;
        if (state.status === 'RESOLVED' && Date.parse(state.changedAt) < cutoff) {
          await memory.delete(key);
          continue;
        }
        if (!filter.status || state.status === filter.status) kept.push(state);
      }
      return kept.sort((a, b) => b.changedAt.localeCompare(a.changedAt));
    },

    async acknowledge(fingerprint, by, now = new Date()) {
      if (!(await read(fingerprint))) throw new AlertNotFoundError(fingerprint);
      const { value } = await memory.update<AlertState>(fingerprint, (current) => {
        if (!current) throw new AlertNotFoundError(fingerprint);
        if (current.status !== 'FIRING') throw new AlertNotFiringError(fingerprint);
        return { ...current, acknowledgedAt: now.toISOString(), acknowledgedBy: by };
      });
      return value;
    },

    async escalate(fingerprint, startsAt, now = new Date()) {
      const current = await read(fingerprint);
      const due = (a: AlertState | null | undefined) =>
        a && a.status === 'FIRING' && a.startsAt === startsAt && !a.acknowledgedAt && !a.escalatedAt;
      if (!due(current)) return null;
      let escalated = false;
      const { value } = await memory.update<AlertState>(fingerprint, (latest) => {
        escalated = Boolean(due(latest));
        const at = now.toISOString();
        return escalated ? { ...latest!, escalatedAt: at, changedAt: at, lastChange: 'escalated' } : latest!;
      });
      return escalated ? value : null;
    },
  };
}
