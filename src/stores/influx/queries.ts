// Queries over recent windows of PRISM's measurements: Flux, and InfluxQL for the plain reads of raw points
// (a machine's readings, timeline events), which InfluxDB 1.x serves for a sixth of Flux's CPU. Every value
// that comes from a caller is either a string escaped by the client's `flux` template or by influxqlString,
// or checked against a strict pattern (durations) or a fixed list (measurements, fields, tags) before it
// reaches the query text: no injection.
import {
  flux,
  fluxExpression,
  type InfluxDB,
  type ParameterizedQuery,
  type QueryApi,
  type Transport,
} from '@influxdata/influxdb-client';
import { influxOrg } from '../../clients/influx.ts';
import { measurements, type FieldOf, type Measurement, type TagOf } from './points.ts';
import { influxQLRows, type InfluxQLResult } from './server.ts';

/**
 * Where to query: a QueryApi (Flux) and the bucket (`database` or `database/policy`), and the client's
 * transport for InfluxQL reads (`influxTarget(createInflux(env), bucket)` makes all three). Without a
 * transport every helper uses Flux.
 */
export type FluxTarget = { queryApi: QueryApi; bucket: string; transport?: Transport };

/** The target of every helper here for `influx`'s server and `bucket`. */
export function influxTarget(influx: InfluxDB, bucket: string): FluxTarget {
  return { queryApi: influx.getQueryApi(influxOrg), bucket, transport: influx.transport };
}

/** A relative start such as "-15m" or "-1h30m", or an absolute time. */
export type Since = string | Date;

const relativeDuration = /^-(\d+(ns|us|ms|s|mo|m|h|d|w|y))+$/;
const windowDuration = /^(\d+(ns|us|ms|s|mo|m|h|d|w|y))+$/;

function start(since: Since) {
  if (since instanceof Date) {
    if (Number.isNaN(since.getTime())) throw new Error('since is an invalid Date');
    return fluxExpression(since.toISOString());
  }
  if (!relativeDuration.test(since)) {
    throw new Error(
      `since "${since}" is invalid: use a negative duration such as -15m, -2h or -7d, or a Date`,
    );
  }
  return fluxExpression(since);
}

function every(duration: string) {
  if (!windowDuration.test(duration)) {
    throw new Error(`window "${duration}" is invalid: use a duration such as 30s, 1m or 1h`);
  }
  return fluxExpression(duration);
}

function known<T extends string>(kind: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T))
    throw new Error(`unknown ${kind} "${value}": use one of ${allowed.join(', ')}`);
  return value as T;
}

/** `and r["tag"] == "value"` for each tag, with names checked and values escaped. */
function tagFilter<M extends Measurement>(measurement: M, tags: Partial<Record<TagOf<M>, string>>) {
  const allowed = measurements[measurement].tags as readonly string[];
  return Object.entries(tags)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => flux` and r[${known('tag', name, allowed)}] == ${value as string}`)
    .map(String)
    .join('');
}

const limit = (n: number) => {
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`limit must be 1 to 100000, got ${n}`);
  return n;
};

export type SensorReadingRow = {
  time: Date;
  line: string;
  machine: string;
  sensorType: string;
  value: number;
  unit?: string;
  quality: string;
};

// InfluxQL: a double-quoted identifier and a single-quoted string, with backslash escapes.
const influxqlIdentifier = (name: string) => `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const influxqlString = (value: string) =>
  `'${value.replace(/[\\'\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}'`;
/** InfluxQL's duration units for Flux's; months and years have none (a query with them uses Flux). */
const influxqlUnits: Record<string, string> = {
  ns: 'ns',
  us: 'u',
  ms: 'ms',
  s: 's',
  m: 'm',
  h: 'h',
  d: 'd',
  w: 'w',
};

/** `time >= <start>`, as Flux's range(start:) is, or null where InfluxQL has no such duration. */
function influxqlStart(since: Since): string | null {
  start(since); // the same checks, the same errors
  if (since instanceof Date) return `time >= ${influxqlString(since.toISOString())}`;
  let duration = '';
  for (const [, n, unit] of since.slice(1).matchAll(/(\d+)([a-z]+)/g)) {
    const mapped = influxqlUnits[unit!];
    if (!mapped) return null;
    duration += `${n}${mapped}`;
  }
  return `time >= now() - ${duration}`;
}

/**
 * The raw points of `measurement` that have the given tags, from `since` until now (as Flux's range), oldest
 * first, at most `max`: one row per point with `columns` (fields and tags) and `time`, as Flux's pivot gives
 * them — or null where the start has no InfluxQL form (months, years).
 */
async function influxqlPoints<M extends Measurement>(
  transport: Transport,
  bucket: string,
  measurement: M,
  columns: readonly string[],
  tags: Partial<Record<TagOf<M>, string>>,
  since: Since,
  max: number,
): Promise<Record<string, unknown>[] | null> {
  const from = influxqlStart(since);
  if (from === null) return null;
  const allowed = measurements[measurement].tags as readonly string[];
  const where = [
    ...Object.entries(tags)
      .filter(([, value]) => value !== undefined)
      .map(
        ([name, value]) =>
          `${influxqlIdentifier(known('tag', name, allowed))} = ${influxqlString(value as string)}`,
      ),
    from,
    'time < now()',
  ];
  const [database, policy] = bucket.split('/', 2);
  const statement =
    `SELECT ${columns.map(influxqlIdentifier).join(', ')} ` +
    `FROM ${policy ? `${influxqlIdentifier(policy)}.` : ''}${influxqlIdentifier(measurement)} ` +
    `WHERE ${where.join(' AND ')} ORDER BY time ASC LIMIT ${limit(max)}`;
  const body = (await transport.request(
    `/query?${new URLSearchParams({ db: database!, q: statement })}`,
    null,
    { method: 'GET' },
  )) as InfluxQLResult;
  return influxQLRows(body, `read ${measurement} (${statement})`);
}

const sensorReadingOf = (r: {
  time: string;
  line: string;
  machine: string;
  sensor_type: string;
  value: number;
  unit?: string | null;
  quality: string;
}): SensorReadingRow => ({
  time: new Date(r.time),
  line: r.line,
  machine: r.machine,
  sensorType: r.sensor_type,
  value: r.value,
  ...(r.unit ? { unit: r.unit } : {}),
  quality: r.quality,
});

/** The readings of one machine's sensor type since `since` (default the last 15 minutes), oldest first. */
export async function recentSensorReadings(
  target: FluxTarget,
  options: { machine: string; sensorType: string; line?: string; since?: Since; limit?: number },
): Promise<SensorReadingRow[]> {
  const tags = { machine: options.machine, sensor_type: options.sensorType, line: options.line };
  if (target.transport) {
    const rows = await influxqlPoints(
      target.transport,
      target.bucket,
      'sensor_reading',
      ['value', 'unit', 'quality', 'line', 'machine', 'sensor_type'],
      tags,
      options.since ?? '-15m',
      options.limit ?? 10_000,
    );
    if (rows) return rows.map((r) => sensorReadingOf(r as Parameters<typeof sensorReadingOf>[0]));
  }
  const query = flux`from(bucket: ${target.bucket})
  |> range(start: ${start(options.since ?? '-15m')})
  |> filter(fn: (r) => r._measurement == "sensor_reading"${fluxExpression(tagFilter('sensor_reading', tags))})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: ${limit(options.limit ?? 10_000)})`;
  type Row = {
    _time: string;
    line: string;
    machine: string;
    sensor_type: string;
    value: number;
    unit?: string;
    quality: string;
  };
  const rows = await target.queryApi.collectRows<Row>(query);
  return rows.map((r) => sensorReadingOf({ ...r, time: r._time }));
}

/** The mean of a numeric field per time window (windows with no data are left out), oldest first. */
export async function meanPerWindow<M extends Measurement>(
  target: FluxTarget,
  options: {
    measurement: M;
    field: FieldOf<M>;
    every: string;
    since?: Since;
    tags?: Partial<Record<TagOf<M>, string>>;
  },
): Promise<{ time: Date; mean: number }[]> {
  const measurement = known<M>('measurement', options.measurement, Object.keys(measurements) as M[]);
  const field = known('field', options.field, measurements[measurement].fields as readonly string[]);
  const query: ParameterizedQuery = flux`from(bucket: ${target.bucket})
  |> range(start: ${start(options.since ?? '-15m')})
  |> filter(fn: (r) => r._measurement == ${measurement} and r._field == ${field}${fluxExpression(
    tagFilter(measurement, options.tags ?? {}),
  )})
  |> group()
  |> aggregateWindow(every: ${every(options.every)}, fn: mean, createEmpty: false)
  |> sort(columns: ["_time"])`;
  const rows = await target.queryApi.collectRows<{ _time: string; _value: number }>(query);
  return rows.map((r) => ({ time: new Date(r._time), mean: r._value }));
}

export type TaskPerformanceSummary = {
  agentType: string;
  step: string;
  outcome: string;
  count: number;
  meanDurationMs: number;
  maxDurationMs: number;
};

/** Per agent type, step and outcome since `since`: how many task steps, and their mean and max duration. */
export async function taskPerformanceSummary(
  target: FluxTarget,
  options: { since?: Since; agentType?: string } = {},
): Promise<TaskPerformanceSummary[]> {
  const query = flux`from(bucket: ${target.bucket})
  |> range(start: ${start(options.since ?? '-1h')})
  |> filter(fn: (r) => r._measurement == "task_performance" and r._field == "duration_ms"${fluxExpression(
    tagFilter('task_performance', { agent_type: options.agentType }),
  )})
  |> group(columns: ["agent_type", "step", "outcome"])
  |> reduce(
    identity: {count: 0, total: 0.0, max: 0.0},
    fn: (r, accumulator) => ({
      count: accumulator.count + 1,
      total: accumulator.total + float(v: r._value),
      max: if float(v: r._value) > accumulator.max then float(v: r._value) else accumulator.max,
    }),
  )
  |> group()
  |> sort(columns: ["agent_type", "step", "outcome"])`;
  type Row = { agent_type: string; step: string; outcome: string; count: number; total: number; max: number };
  const rows = await target.queryApi.collectRows<Row>(query);
  return rows.map((r) => ({
    agentType: r.agent_type,
    step: r.step,
    outcome: r.outcome,
    count: r.count,
    meanDurationMs: r.total / r.count,
    maxDurationMs: r.max,
  }));
}

export type TimelineEventRow = {
  time: Date;
  eventType: string;
  severity: string;
  source: string;
  message: string;
  taskId: string;
};

/** Timeline events since `since` (default the last hour), optionally of one type, severity or source. */
export async function recentEvents(
  target: FluxTarget,
  options: { since?: Since; eventType?: string; severity?: string; source?: string; limit?: number } = {},
): Promise<TimelineEventRow[]> {
  const tags = { event_type: options.eventType, severity: options.severity, source: options.source };
  if (target.transport) {
    const rows = await influxqlPoints(
      target.transport,
      target.bucket,
      'event_timeline',
      ['event_type', 'severity', 'source', 'message', 'task_id'],
      tags,
      options.since ?? '-1h',
      options.limit ?? 1000,
    );
    if (rows) return rows.map((r) => timelineEventOf(r as Parameters<typeof timelineEventOf>[0]));
  }
  const query = flux`from(bucket: ${target.bucket})
  |> range(start: ${start(options.since ?? '-1h')})
  |> filter(fn: (r) => r._measurement == "event_timeline"${fluxExpression(tagFilter('event_timeline', tags))})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: ${limit(options.limit ?? 1000)})`;
  type Row = {
    _time: string;
    event_type: string;
    severity: string;
    source: string;
    message: string;
    task_id: string;
  };
  const rows = await target.queryApi.collectRows<Row>(query);
  return rows.map((r) => timelineEventOf({ ...r, time: r._time }));
}

function timelineEventOf(r: {
  time: string;
  event_type: string;
  severity: string;
  source: string;
  message: string;
  task_id: string;
}): TimelineEventRow {
  return {
    time: new Date(r.time),
    eventType: r.event_type,
    severity: r.severity,
    source: r.source,
    message: r.message,
    taskId: r.task_id,
  };
}
