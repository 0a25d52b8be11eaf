// The activities: the only code that touches the stores. A worker builds the clients once
// (createActivityDeps) and injects them; workflows import the *type* of these objects only. Two sets, one per
// worker: the agent task flow's (the task worker, TEMPORAL_TASK_QUEUE; ./task-set.ts) and the maintenance
// work's — backups, drills, retention, sensor-rule scans, alert escalation (the maintenance worker, its own
// queue and identity; ./maintenance-set.ts). Each worker imports its own set, not this file.
import type { createMaintenanceActivities } from './maintenance-set.ts';
import type { createTaskActivities } from './task-set.ts';

export type TaskActivities = ReturnType<typeof createTaskActivities>;
export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
export { createTaskActivities } from './task-set.ts';
export { createMaintenanceActivities } from './maintenance-set.ts';
export { createActivityDeps, closeActivityDeps, type ActivityDeps } from './deps.ts';
