// Everything the maintenance worker registers as workflow code (TEMPORAL_MAINTENANCE_TASK_QUEUE): work that is
// not a user's task — backups, their retention and drill, sensor-rule scans, alert escalation — so that it
// never takes the task worker's slots and the task worker holds none of its secrets.
export { alertEscalation } from './alert-escalation.ts';
export { sensorRuleScan } from './sensor-rule-scan.ts';
export { backupRun, backupRetention, backupDrill } from './backup.ts';
