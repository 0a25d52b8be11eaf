// The product's Temporal Schedules, created by `prism provision` (and so `prism up`) when missing and kept
// in step with the configuration when present: one schedule per id, however often provisioning runs. They
// are visible, pausable and triggerable in the Temporal UI and with `temporal schedule`.
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Env } from '../../config.ts';
import type { Progress } from '../../progress.ts';

export interface ScheduleSpecOfProduct {
  id: string;
  workflowType: string;
  /** Every so often, e.g. `1m`, `1 day`. */
  every: string;
  note: string;
}

/** The schedules of the product: the sensor-rule scan (and, later, the backups). */
export function productSchedules(env: Pick<Env, 'SENSOR_SCAN_INTERVAL'>): ScheduleSpecOfProduct[] {
  return [
    {
      id: 'sensor-rule-scan',
      workflowType: 'sensorRuleScan',
      every: env.SENSOR_SCAN_INTERVAL,
      note: 'checks the sensor rules (constraints) against the latest InfluxDB readings; alerts on violations',
    },
  ];
}

export interface ScheduleProvisionResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export async function provisionSchedules(
  env: Pick<
    Env,
    | 'TEMPORAL_ADDRESS'
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TASK_QUEUE'
    | 'SENSOR_SCAN_INTERVAL'
    | 'PRISM_SCHEDULES'
  >,
  progress: Progress,
): Promise<ScheduleProvisionResult> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS, connectTimeout: '5s' });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const paused = env.PRISM_SCHEDULES === 'paused';
  const result: ScheduleProvisionResult = { created: [], updated: [], unchanged: [] };
  try {
    for (const spec of productSchedules(env)) {
      const options = {
        scheduleId: spec.id,
        spec: { intervals: [{ every: spec.every }] },
        action: {
          type: 'startWorkflow' as const,
          workflowType: spec.workflowType,
          workflowId: spec.id,
          taskQueue: env.TEMPORAL_TASK_QUEUE,
          args: [],
        },
        // A run still going when the next is due: skip the next, never pile them up.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
        state: { paused, note: spec.note },
      };
      try {
        await client.schedule.create(options);
        result.created.push(spec.id);
        progress.step(
          `Temporal: created schedule ${spec.id} (every ${spec.every}${paused ? ', paused' : ''})`,
        );
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        const handle = client.schedule.getHandle(spec.id);
        const current = await handle.describe();
        const interval = current.spec.intervals?.[0];
        const everyMs = interval ? Number(interval.every) : NaN;
        const sameInterval = everyMs === msOf(spec.every);
        const samePause = current.state.paused === paused;
        if (sameInterval && samePause) {
          result.unchanged.push(spec.id);
          continue;
        }
        if (!sameInterval)
          await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every: spec.every }] } }));
        if (!samePause)
          await (paused ? handle.pause('PRISM_SCHEDULES=paused') : handle.unpause('PRISM_SCHEDULES=on'));
        result.updated.push(spec.id);
        progress.step(
          `Temporal: updated schedule ${spec.id} (every ${spec.every}${paused ? ', paused' : ''})`,
        );
      }
    }
    return result;
  } finally {
    await connection.close();
  }
}

function msOf(every: string): number {
  const m = /^(\d+)\s*(s|m|h|d|second|seconds|minute|minutes|hour|hours|day|days)$/.exec(every.trim());
  if (!m) return NaN;
  const unit = m[2]![0]!;
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 's' | 'm' | 'h' | 'd']!;
}
