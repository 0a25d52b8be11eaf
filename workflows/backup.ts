// The backup workflows, run by Temporal Schedules (`prism-backup`, `prism-backup-retention`,
// `prism-backup-drill`) or started by `prism backup run|drill`:
// - backupRun: every store's part, one activity each (heartbeating; a failed store is retried alone), then
//   the manifest, written last. Findable in the Temporal UI by `BackupId` and `BackupOutcome`.
// - backupRetention: deletes what the retention policy does not keep (manifest first).
// - backupDrill: restores the newest backup into scratch targets and compares it with its manifest.
import {
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { MaintenanceActivities } from '../activities/index.ts';
import type { BackupReason, DrillResult } from '../activities/backup.ts';
import { BackupIdKey, BackupOutcomeKey } from '../src/backup/search-attributes.ts';
import { backupStores, newBackupId, type BackupStore } from '../src/backup/contract.ts';
import type { StoreBackup } from '../src/backup/manifest.ts';

const { backupStore, drillBackup } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', maximumInterval: '2m', maximumAttempts: 3 },
});

const { completeBackup, recordBackupFailure, applyBackupRetention } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
});

export type StoreState = 'waiting' | 'running' | 'done' | 'failed';

export interface BackupProgress {
  backupId: string;
  stores: Partial<Record<BackupStore, StoreState>>;
}

export const backupProgressQuery = defineQuery<BackupProgress>('backupProgress');

export interface BackupRunInput {
  /** The stores to back up; default all five. */
  stores?: BackupStore[];
  reason?: BackupReason;
}

export interface BackupRunResult {
  backupId: string;
  bytes: number;
  files: number;
  destination: string;
  stores: { store: BackupStore; durationMs: number; bytes: number }[];
}

const outcome = (value: string): SearchAttributeUpdatePair[] => [{ key: BackupOutcomeKey, value }];

export async function backupRun(input: BackupRunInput = {}): Promise<BackupRunResult> {
  const info = workflowInfo();
  const createdAt = info.startTime;
  // Math.random in a workflow is seeded by the run: the same id on every replay.
  const backupId = newBackupId(createdAt, Math.random);
  const runKey = `${info.workflowId}/${info.runId}`;
  const stores = input.stores && input.stores.length > 0 ? input.stores : [...backupStores];
  const progress: BackupProgress = {
    backupId,
    stores: Object.fromEntries(stores.map((s) => [s, 'waiting'])),
  };
  setHandler(backupProgressQuery, () => progress);
  upsertSearchAttributes([{ key: BackupIdKey, value: backupId }, ...outcome('RUNNING')]);

  const taken: StoreBackup[] = [];
  try {
    for (const store of stores) {
      progress.stores[store] = 'running';
      try {
        taken.push(await backupStore({ backupId, store }));
        progress.stores[store] = 'done';
      } catch (err) {
        progress.stores[store] = 'failed';
        throw err;
      }
    }
    const done = await completeBackup({
      backupId,
      reason: input.reason ?? 'manual',
      createdAt: createdAt.toISOString(),
      workflowId: info.workflowId,
      runKey,
      stores: taken,
    });
    upsertSearchAttributes(outcome('COMPLETED'));
    return {
      ...done,
      stores: taken.map((s) => ({
        store: s.store,
        durationMs: s.durationMs,
        bytes: s.files.reduce((n, f) => n + f.bytes, 0),
      })),
    };
  } catch (err) {
    upsertSearchAttributes(outcome('FAILED'));
    const message = messageOf(err);
    await recordBackupFailure({ backupId, runKey, createdAt: createdAt.toISOString(), error: message });
    throw ApplicationFailure.create({
      type: 'BackupFailed',
      message: `backup ${backupId} failed: ${message}`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
}

export async function backupRetention(input: { dryRun?: boolean } = {}) {
  upsertSearchAttributes(outcome('RUNNING'));
  const result = await applyBackupRetention({
    now: workflowInfo().startTime.toISOString(),
    dryRun: input.dryRun,
  });
  upsertSearchAttributes(outcome('COMPLETED'));
  return result;
}

export async function backupDrill(input: { backupId?: string } = {}): Promise<DrillResult> {
  const info = workflowInfo();
  upsertSearchAttributes(outcome('RUNNING'));
  const result = await drillBackup({
    backupId: input.backupId,
    runKey: `${info.workflowId}/${info.runId}`,
    startedAt: info.startTime.toISOString(),
  });
  upsertSearchAttributes([
    ...(result.backupId ? [{ key: BackupIdKey, value: result.backupId }] : []),
    ...outcome(result.ok ? 'COMPLETED' : 'FAILED'),
  ]);
  if (!result.ok) {
    throw ApplicationFailure.create({
      type: 'BackupDrillFailed',
      message: `the restore drill of ${result.backupId ?? '(no backup)'} failed: ${result.problems.join('; ')}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

function messageOf(err: unknown): string {
  // An activity's failure wraps the store's error: its cause says what went wrong.
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause && (e.cause as { message?: string }).message) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
