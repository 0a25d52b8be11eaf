// The activities: the only code that touches the stores. A worker builds the clients once
// (createActivityDeps) and injects them; workflows import the *type* of these objects only. Two sets, one per
// worker: the agent task flow's (the task worker, TEMPORAL_TASK_QUEUE) and the maintenance work's — backups,
// drills, retention, sensor-rule scans, alert escalation (the maintenance worker, its own queue and identity).
import type { ActivityDeps } from './deps.ts';
import { alertActivities } from './alerts.ts';
import { backupActivities } from './backup.ts';
import { sensorRuleActivities } from './sensor-rules.ts';
import { dispatchActivities } from './dispatch.ts';
import { knowledgeActivities } from './knowledge.ts';
import { metricsActivities } from './metrics.ts';
import { taskActivities } from './task.ts';

/** The steps of the agent task flow (workflows/agent-task.ts). */
export function createTaskActivities(deps: ActivityDeps) {
  return {
    ...taskActivities(deps),
    ...knowledgeActivities(deps),
    ...dispatchActivities(deps),
    ...metricsActivities(deps),
  };
}

/** The maintenance work's steps (workflows/maintenance.ts). */
export function createMaintenanceActivities(deps: ActivityDeps) {
  return {
    ...alertActivities(deps),
    ...sensorRuleActivities(deps),
    ...backupActivities(deps),
  };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;
export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
export { createActivityDeps, closeActivityDeps, type ActivityDeps } from './deps.ts';
