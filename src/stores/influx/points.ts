// PRISM's four measurements and their typed point builders. Tags are the dimensions we group by, and each
// has a bounded set of values (lines, machines, agent types, outcomes...): every distinct tag combination is
// a series InfluxDB keeps in memory, so task and run ids are fields, never tags.
import { Point } from '@influxdata/influxdb-client';

export const measurements = {
  sensor_reading: { tags: ['line', 'machine', 'sensor_type'], fields: ['value', 'unit', 'quality'] },
  task_performance: {
    tags: ['agent_type', 'step', 'outcome'],
    fields: ['duration_ms', 'task_id', 'attempts'],
  },
  resource_usage: { tags: ['service', 'resource'], fields: ['value'] },
  event_timeline: { tags: ['event_type', 'severity', 'source'], fields: ['message', 'task_id'] },
  backup_run: { tags: ['kind', 'outcome'], fields: ['duration_ms', 'bytes', 'backup_id', 'problems'] },
} as const;
export type Measurement = keyof typeof measurements;
export type TagOf<M extends Measurement> = (typeof measurements)[M]['tags'][number];
export type FieldOf<M extends Measurement> = (typeof measurements)[M]['fields'][number];

export const sensorQualities = ['GOOD', 'UNCERTAIN', 'BAD'] as const;
export const taskOutcomes = ['SUCCESS', 'FAILURE', 'RETRY', 'CANCELLED', 'TIMEOUT'] as const;
export const severities = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** When it happened: a Date or epoch milliseconds. Defaults to now. */
type At = { time?: Date | number };

export type SensorReading = At & {
  line: string;
  machine: string;
  sensorType: string;
  value: number;
  unit?: string;
  quality: (typeof sensorQualities)[number];
};

export type TaskPerformance = At & {
  agentType: string;
  step: string;
  outcome: (typeof taskOutcomes)[number];
  durationMs: number;
  taskId: string;
  attempts: number;
};

export type ResourceUsage = At & { service: string; resource: string; value: number };

export const backupRunKinds = ['backup', 'drill', 'restore'] as const;

/** A backup taken, a restore drill or a restore: one point per run (its key derives from `runKey`). */
export type BackupRunPoint = At & {
  kind: (typeof backupRunKinds)[number];
  ok: boolean;
  durationMs: number;
  bytes: number;
  backupId: string;
  problems: number;
  runKey: string;
};

export type TimelineEvent = At & {
  eventType: string;
  severity: (typeof severities)[number];
  source: string;
  message: string;
  taskId?: string;
};

const tagValue = /^[A-Za-z0-9_.:/-]{1,64}$/;

function tag(name: string, value: string): string {
  if (!tagValue.test(value)) {
    throw new Error(
      `InfluxDB tag ${name}="${value}" is invalid: use 1 to 64 letters, digits and _ . : / - (a name, not free text)`,
    );
  }
  return value;
}

function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value))
    throw new Error(`${name} "${value}" is invalid: use one of ${allowed.join(', ')}`);
  return value;
}

function finite(name: string, value: number): number {
  if (!Number.isFinite(value)) throw new Error(`${name} must be a finite number, got ${value}`);
  return value;
}

// FNV-1a: a small, stable hash (the same input gives the same offset in every process).
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The point's timestamp in nanoseconds. InfluxDB keys a point by measurement, tags and time, so two tasks
 * finishing the same step in the same millisecond would overwrite each other; a sub-millisecond offset
 * derived from `distinct` (e.g. the task id) keeps them apart, and a retried write of the same point still
 * lands on the same key (idempotent).
 */
function nanos(time: Date | number | undefined, distinct?: string): string {
  const ms = time === undefined ? Date.now() : typeof time === 'number' ? time : time.getTime();
  if (!Number.isFinite(ms)) throw new Error(`point time is invalid: ${String(time)}`);
  const offset = distinct === undefined ? 0n : BigInt(hash(distinct) % 1_000_000);
  return String(BigInt(Math.trunc(ms)) * 1_000_000n + offset);
}

export function sensorReading(r: SensorReading): Point {
  const point = new Point('sensor_reading')
    .tag('line', tag('line', r.line))
    .tag('machine', tag('machine', r.machine))
    .tag('sensor_type', tag('sensor_type', r.sensorType))
    .floatField('value', finite('value', r.value))
    .stringField('quality', oneOf('quality', r.quality, sensorQualities))
    .timestamp(nanos(r.time));
  return r.unit === undefined ? point : point.stringField('unit', r.unit);
}

export function taskPerformance(p: TaskPerformance): Point {
  if (!p.taskId) throw new Error('taskId is required');
  if (!Number.isInteger(p.attempts) || p.attempts < 1) {
    throw new Error(`attempts must be a whole number of at least 1, got ${p.attempts}`);
  }
  return new Point('task_performance')
    .tag('agent_type', tag('agent_type', p.agentType))
    .tag('step', tag('step', p.step))
    .tag('outcome', oneOf('outcome', p.outcome, taskOutcomes))
    .intField('duration_ms', Math.round(finite('durationMs', p.durationMs)))
    .stringField('task_id', p.taskId)
    .intField('attempts', p.attempts)
    .timestamp(nanos(p.time, p.taskId));
}

export function resourceUsage(u: ResourceUsage): Point {
  return new Point('resource_usage')
    .tag('service', tag('service', u.service))
    .tag('resource', tag('resource', u.resource))
    .floatField('value', finite('value', u.value))
    .timestamp(nanos(u.time));
}

export function timelineEvent(e: TimelineEvent): Point {
  return new Point('event_timeline')
    .tag('event_type', tag('event_type', e.eventType))
    .tag('severity', oneOf('severity', e.severity, severities))
    .tag('source', tag('source', e.source))
    .stringField('message', e.message)
    .stringField('task_id', e.taskId ?? '')
    .timestamp(nanos(e.time, `${e.taskId ?? ''}\n${e.message}`));
}

export function backupRunPoint(b: BackupRunPoint): Point {
  return new Point('backup_run')
    .tag('kind', oneOf('kind', b.kind, backupRunKinds))
    .tag('outcome', b.ok ? 'ok' : 'failed')
    .intField('duration_ms', Math.round(finite('durationMs', b.durationMs)))
    .intField('bytes', Math.round(finite('bytes', b.bytes)))
    .stringField('backup_id', b.backupId)
    .intField('problems', b.problems)
    .timestamp(nanos(b.time, b.runKey));
}
