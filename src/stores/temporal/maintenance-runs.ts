// Maintenance runs started before the maintenance worker had a queue of its own ran on the task queue, where
// the task worker no longer registers their workflows: one still open there would never run again (an
// escalation's timer firing, a backup in progress). Provisioning moves each to the maintenance queue — the
// same workflow id and input, started there while the old run is terminated — so that nothing is lost across
// the upgrade. An escalation keeps its deadline and a scan its window; a backup starts over. Nothing open on
// the task queue: nothing to do.
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Env } from '../../config.ts';
import type { Progress } from '../../progress.ts';
import { connectToFrontend, type TemporalEnv } from '../../clients/temporal.ts';

/** The workflows of the maintenance worker (workflows/maintenance.ts). */
export const maintenanceWorkflowTypes = [
  'backupRun',
  'backupRetention',
  'backupDrill',
  'sensorRuleScan',
  'alertEscalation',
] as const;

type Input = Record<string, unknown> | undefined;

/** The input of the run on the maintenance queue: what is left of an escalation's wait, a scan's window. */
function carriedOver(workflowType: string, input: Input, startTime: Date, now: number): unknown[] {
  if (workflowType === 'alertEscalation' && input && typeof input.afterMs === 'number') {
    return [{ ...input, afterMs: Math.max(0, input.afterMs - (now - startTime.getTime())) }];
  }
  if (workflowType === 'sensorRuleScan') {
    const minute = Math.floor(startTime.getTime() / 60_000) * 60_000;
    return [{ ...input, windowEnd: input?.windowEnd ?? new Date(minute).toISOString() }];
  }
  return input === undefined ? [] : [input];
}

export async function moveMaintenanceRuns(
  env: TemporalEnv & Pick<Env, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_MAINTENANCE_TASK_QUEUE'>,
  progress: Progress,
): Promise<{ moved: string[] }> {
  const connection = await connectToFrontend(env, (target) =>
    Connection.connect({ ...target, connectTimeout: '5s' }),
  );
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const moved: string[] = [];
  try {
    const types = maintenanceWorkflowTypes.map((t) => `'${t}'`).join(', ');
    const query = `ExecutionStatus = 'Running' AND TaskQueue = '${env.TEMPORAL_TASK_QUEUE}' AND WorkflowType IN (${types})`;
    for await (const run of client.workflow.list({ query })) {
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const input = payload ? defaultPayloadConverter.fromPayload<Input>(payload) : undefined;
      await client.workflow.start(run.type, {
        workflowId: run.workflowId,
        taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
        args: carriedOver(run.type, input, run.startTime, Date.now()),
        // Terminates the run on the task queue and starts this one, in one request.
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      });
      moved.push(run.workflowId);
      progress.step(
        `Temporal: moved ${run.type} ${run.workflowId} to ${env.TEMPORAL_MAINTENANCE_TASK_QUEUE}`,
      );
    }
    return { moved };
  } finally {
    await connection.close();
  }
}
