// The product's Temporal Schedules, created by `prism provision` (and so `prism up`) when missing and kept
// in step with the configuration when present: one schedule per id, however often provisioning runs. They
// are visible, pausable and triggerable in the Temporal UI and with `temporal schedule`.
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Env } from '../../config.ts';
import type { Progress } from '../../progress.ts';
import { connectToFrontend, type TemporalEnv } from '../../clients/temporal.ts';

export type ScheduleSpecOfProduct = {
  id: string;
  workflowType: string;
  args?: unknown[];
  note: string;
} & (
  | {
      /** Every so often, e.g. `1m`, `1 day`. */
      every: string;
      cron?: never;
    }
  | {
      /** A cron expression (UTC), e.g. `0 2 * * *`. */
      cron: string;
      every?: never;
    }
);

type ScheduleEnv = Pick<
  Env,
  'SENSOR_SCAN_INTERVAL' | 'BACKUP_SCHEDULE' | 'BACKUP_RETENTION_SCHEDULE' | 'BACKUP_DRILL_SCHEDULE'
>;

/** The schedules of the product: the sensor-rule scan, the backup, its retention and its drill. */
export function productSchedules(env: ScheduleEnv): ScheduleSpecOfProduct[] {
  return [
    {
      id: 'sensor-rule-scan',
      workflowType: 'sensorRuleScan',
      every: env.SENSOR_SCAN_INTERVAL,
      note: 'checks the sensor rules (constraints) against the latest InfluxDB readings; alerts on violations',
    },
    {
      id: 'backup',
      workflowType: 'backupRun',
      args: [{ reason: 'schedule' }],
      cron: env.BACKUP_SCHEDULE,
      note: 'backs up every store (PostgreSQL, Redis, Weaviate, InfluxDB, Temporal) to the backup destination',
    },
    {
      id: 'backup-retention',
      workflowType: 'backupRetention',
      cron: env.BACKUP_RETENTION_SCHEDULE,
      note: 'deletes the backups the retention policy (BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY) does not keep',
    },
    {
      id: 'backup-drill',
      workflowType: 'backupDrill',
      cron: env.BACKUP_DRILL_SCHEDULE,
      note: 'restores the newest backup into scratch targets and checks it against its manifest; alerts if not',
    },
  ];
}

/** The schedule's timing as Temporal takes it. */
function timing(spec: ScheduleSpecOfProduct) {
  return spec.cron !== undefined ? { cronExpressions: [spec.cron] } : { intervals: [{ every: spec.every }] };
}

/** The note shown in the Temporal UI, which also records the timing it was created with. */
function noteOf(spec: ScheduleSpecOfProduct): string {
  return `${spec.note} [${spec.cron !== undefined ? `cron ${spec.cron} UTC` : `every ${spec.every}`}]`;
}

export interface ScheduleProvisionResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export async function provisionSchedules(
  env: TemporalEnv & Pick<Env, 'TEMPORAL_MAINTENANCE_TASK_QUEUE' | 'PRISM_SCHEDULES' | keyof ScheduleEnv>,
  progress: Progress,
): Promise<ScheduleProvisionResult> {
  const connection = await connectToFrontend(env, (target) =>
    Connection.connect({ ...target, connectTimeout: '5s' }),
  );
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const paused = env.PRISM_SCHEDULES === 'paused';
  const result: ScheduleProvisionResult = { created: [], updated: [], unchanged: [] };
  try {
    for (const spec of productSchedules(env)) {
      const options = {
        scheduleId: spec.id,
        spec: timing(spec),
        action: {
          type: 'startWorkflow' as const,
          workflowType: spec.workflowType,
          workflowId: spec.id,
          // Maintenance work, all of it: the maintenance worker's queue.
          taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
          args: spec.args ?? [],
        },
        // A run still going when the next is due: skip the next, never pile them up.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
        state: { paused, note: noteOf(spec) },
      };
      try {
        await client.schedule.create(options);
        result.created.push(spec.id);
        progress.step(`Temporal: created schedule ${spec.id} (${when(spec)}${paused ? ', paused' : ''})`);
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        const handle = client.schedule.getHandle(spec.id);
        const current = await handle.describe();
        const interval = current.spec.intervals?.[0];
        const sameTiming =
          spec.cron !== undefined
            ? current.state.note === noteOf(spec)
            : (interval ? Number(interval.every) : NaN) === msOf(spec.every);
        const samePause = current.state.paused === paused;
        // A schedule created before the maintenance queue existed starts its runs on the task worker's.
        const sameQueue = current.action.taskQueue === options.action.taskQueue;
        if (sameTiming && samePause && sameQueue) {
          result.unchanged.push(spec.id);
          continue;
        }
        if (!sameTiming || !sameQueue)
          await handle.update((prev) => ({
            ...prev,
            spec: timing(spec),
            action: { ...prev.action, taskQueue: options.action.taskQueue },
            state: { ...prev.state, note: noteOf(spec) },
          }));
        if (!samePause)
          await (paused ? handle.pause('PRISM_SCHEDULES=paused') : handle.unpause('PRISM_SCHEDULES=on'));
        result.updated.push(spec.id);
        progress.step(`Temporal: updated schedule ${spec.id} (${when(spec)}${paused ? ', paused' : ''})`);
      }
    }
    return result;
  } finally {
    await connection.close();
  }
}

const when = (spec: ScheduleSpecOfProduct) =>
  spec.cron !== undefined ? `cron ${spec.cron} UTC` : `every ${spec.every}`;

function msOf(every: string): number {
  const m = /^(\d+)\s*(s|m|h|d|second|seconds|minute|minutes|hour|hours|day|days)$/.exec(every.trim());
  if (!m) return NaN;
  const unit = m[2]![0]!;
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 's' | 'm' | 'h' | 'd']!;
}
