// `prism maintenance-worker`: the maintenance worker — backups, restore drills, retention, sensor-rule scans
// and alert escalation, on a task queue of their own (TEMPORAL_MAINTENANCE_TASK_QUEUE), with its own identity
// (src/identity.ts `maintenance`: the backup secrets live here, not in the task worker) and its own /metrics.
// A backup's two-hour activities and a drill's scratch servers never take an agent task's slot. The Temporal
// Schedules, `prism backup run|drill` and the alert handler start their work on this queue; several of these
// processes may poll it.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { closeActivityDeps, createActivityDeps } from '../../activities/deps.ts';
import { createMaintenanceActivities } from '../../activities/maintenance-set.ts';
import { connectToFrontend } from '../clients/temporal.ts';
import type { Env } from '../config.ts';
import { createMetrics } from '../metrics.ts';
import { payloadConverterPath, runTemporalWorker, type RunningWorker } from './run.ts';

export const maintenanceWorkflowsPath = fileURLToPath(
  new URL('../../workflows/maintenance.ts', import.meta.url),
);

export async function startMaintenanceWorker(
  env: Env,
  options: { metricsPort?: number | null; log?: (m: string) => void } = {},
): Promise<RunningWorker> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[maintenance-worker] ${m}\n`));
  const metrics = createMetrics('maintenance');
  const deps = await createActivityDeps(env, metrics);
  const connection = await connectToFrontend(env, (target) => NativeConnection.connect({ ...target }));
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
    workflowsPath: maintenanceWorkflowsPath,
    dataConverter: { payloadConverterPath },
    activities: createMaintenanceActivities(deps),
    // Few and long: a backup store's part may take two hours and a drill starts scratch servers in this
    // process, so a handful at a time; scans and escalations are local activities, short and many.
    maxConcurrentActivityTaskExecutions: 8,
    maxConcurrentLocalActivityExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: 50,
    maxCachedWorkflows: 500,
  });
  return runTemporalWorker({
    env,
    worker,
    connection,
    registry: metrics.registry,
    metricsPort: options.metricsPort === undefined ? env.MAINTENANCE_METRICS_PORT : options.metricsPort,
    close: () => closeActivityDeps(deps),
    log,
  });
}
