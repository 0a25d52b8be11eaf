// The maintenance worker's activities (TEMPORAL_MAINTENANCE_TASK_QUEUE): backups, drills, retention,
// sensor-rule scans, alert escalation.
import type { ActivityDeps } from './deps.ts';
import { withPrismFailures } from './failures.ts';
import { alertActivities } from './alerts.ts';
import { backupActivities } from './backup.ts';
import { sensorRuleActivities } from './sensor-rules.ts';

/** The maintenance work's steps (workflows/maintenance.ts); a PrismError fails one as its code says. */
export function createMaintenanceActivities(deps: ActivityDeps) {
  return withPrismFailures({
    ...alertActivities(deps),
    ...sensorRuleActivities(deps),
    ...backupActivities(deps),
  });
}
