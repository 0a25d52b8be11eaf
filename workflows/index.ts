// Everything the worker registers as workflow code.
export { agentTask } from './agent-task.ts';
export { benchNoop } from './bench-noop.ts';
export { alertEscalation } from './alert-escalation.ts';
export { sensorRuleScan } from './sensor-rule-scan.ts';
export { backupRun, backupRetention, backupDrill } from './backup.ts';
