// The search attributes of backup runs (backupRun, backupRetention, backupDrill), registered with the task
// ones (src/stores/temporal/provision.ts): in the Temporal UI, `WorkflowType = 'backupRun' AND
// StartTime > '2026-11-23T00:00:00Z'` lists last week's backups, `BackupOutcome = 'FAILED'` the failed runs.
import { defineSearchAttributeKey } from '@temporalio/common';

export const BackupIdKey = defineSearchAttributeKey('BackupId', 'KEYWORD');
/** RUNNING, COMPLETED or FAILED. */
export const BackupOutcomeKey = defineSearchAttributeKey('BackupOutcome', 'KEYWORD');
