// The sensor-rule scan, run by a Temporal Schedule (`sensor-rule-scan`, every minute by default): checks
// every active sensor rule against the window of readings that ends at the scheduled time, and opens a
// MONITORING task for each CRITICAL violation that asks for one (a task of its own, not a child of this run,
// so it outlives it; its request id derives from the violation, so a retried scan opens it once). The scan runs
// on the maintenance queue; the tasks it opens go to the task worker's queue, which the scan's activity names
// (a workflow reads no configuration).
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyLocalActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/index.ts';
import { workflowIdFor, workflowType, type TaskRequest } from '../src/task/contract.ts';

const { scanSensorRules } = proxyLocalActivities<MaintenanceActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '20s', maximumAttempts: 10 },
});

export async function sensorRuleScan(input: { windowEnd?: string } = {}): Promise<{
  windowEnd: string;
  rules: number;
  violations: number;
  resolved: number;
  tasks: string[];
}> {
  // The window ends at the scheduled minute: a retried or late run checks the same window.
  const started = workflowInfo().startTime;
  const minute = Math.floor(started.getTime() / 60_000) * 60_000;
  const windowEnd = input.windowEnd ?? new Date(minute).toISOString();
  const scan = await scanSensorRules({ windowEnd });
  const tasks: string[] = [];
  for (const v of scan.violations.filter((x) => x.openTask)) {
    const request: TaskRequest = {
      requestId: `sensor-violation-${v.violationId}`,
      query: `Check ${v.sensorType} of ${v.machine}: it broke ${v.expected} (${v.actual})`,
      agentType: 'MONITORING',
      priority: 'HIGH',
      parameters: { machine: v.machine, sensorType: v.sensorType, since: '-1h' },
    };
    try {
      await startChild(workflowType, {
        workflowId: workflowIdFor(request.requestId),
        args: [request],
        // A scan recorded before the queues split has no taskQueue: its tasks stayed on its own queue.
        ...(scan.taskQueue ? { taskQueue: scan.taskQueue } : {}),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // One task per violation, ever: a rescan of the same window finds the task and leaves it be.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    tasks.push(workflowIdFor(request.requestId));
  }
  return {
    windowEnd,
    rules: scan.rules,
    violations: scan.violations.length,
    resolved: scan.resolved.length,
    tasks,
  };
}
