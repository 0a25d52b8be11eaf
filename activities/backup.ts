// The backup workflows' activities: one store's part of a backup (heartbeating its progress, retried alone),
// the manifest, retention, and the restore drill. Each run is recorded once in PostgreSQL (`backup_runs`,
// keyed by its run) and InfluxDB (`backup_run`, one point per run); a failed backup or drill raises an
// alert on `agent.monitoring.alerts` and the next good one resolves it.
import { Context } from '@temporalio/activity';
import { alertEnvelope, alertEventSchema } from '../src/alerts/event.ts';
import { createAlertStore } from '../src/alerts/store.ts';
import {
  BackupRejected,
  deleteBackup,
  latestBackup,
  listBackups,
  restoreBackup,
  takeStoreBackup,
  writeManifest,
} from '../src/backup/backup.ts';
import { backupDestination } from '../src/backup/destination.ts';
import {
  backupStores,
  type BackupManifest,
  type BackupStore,
  type StoreBackup,
} from '../src/backup/manifest.ts';
import { decideRetention, type RetentionDecision } from '../src/backup/retention.ts';
import { backupRunPoint } from '../src/stores/influx/points.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import { recordBackupRun } from '../src/stores/postgres/backups.ts';
import type { ActivityDeps } from './deps.ts';

export type BackupReason = BackupManifest['reason'];

export interface DrillResult {
  backupId: string | null;
  ok: boolean;
  problems: string[];
  stores: { store: BackupStore; ok: boolean; problems: string[]; durationMs: number }[];
  durationMs: number;
}

/** The run that records: the workflow run, so that a retried activity updates its own row. */
interface RunRecord {
  runKey: string;
  kind: 'BACKUP' | 'DRILL';
  backupId: string;
  ok: boolean;
  problems: string[];
  details: Record<string, unknown>;
  durationMs: number;
  startedAt: string;
  bytes: number;
}

const alertFingerprint = { BACKUP: 'backup.failed', DRILL: 'backup.drill-failed' } as const;

/** Progress goes to the activity's heartbeat (the CLI and the Temporal UI show it); throttled to 1/s. */
function heartbeater(): (message: string) => void {
  let last = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < 1_000) return;
    last = now;
    Context.current().heartbeat(message);
  };
}

export function backupActivities({ env, prisma, influx, publisher, redis }: ActivityDeps) {
  const alerts = createAlertStore(redis);

  async function record(run: RunRecord): Promise<void> {
    await recordBackupRun(prisma, {
      runKey: run.runKey,
      kind: run.kind,
      backupId: run.backupId,
      ok: run.ok,
      problems: run.problems,
      details: run.details,
      durationMs: run.durationMs,
      startedAt: new Date(run.startedAt),
    });
    influx.write(
      backupRunPoint({
        kind: run.kind === 'BACKUP' ? 'backup' : 'drill',
        ok: run.ok,
        durationMs: run.durationMs,
        bytes: run.bytes,
        backupId: run.backupId,
        problems: run.problems.length,
        runKey: run.runKey,
        time: new Date(run.startedAt),
      }),
    );
    await influx.flush();
    // Raised once per failing run (its id derives from the run's start); resolved by the next good run.
    const fingerprint = alertFingerprint[run.kind];
    const what = run.kind === 'BACKUP' ? 'backup' : 'restore drill';
    if (!run.ok) {
      const event = alertEventSchema.parse({
        fingerprint,
        name: run.kind === 'BACKUP' ? 'BackupFailed' : 'BackupDrillFailed',
        status: 'FIRING',
        severity: 'CRITICAL',
        source: 'backups',
        message: `The ${what} ${run.backupId ? `of ${run.backupId} ` : ''}failed: ${run.problems.join('; ').slice(0, 3000)}`,
        labels: { kind: run.kind.toLowerCase() },
        startsAt: run.startedAt,
        details: { runKey: run.runKey, backupId: run.backupId },
      });
      await publisher.publish(Topic.MonitoringAlerts, alertEnvelope(event), { key: fingerprint });
      return;
    }
    const firing = await alerts.get(fingerprint);
    if (firing?.status === 'FIRING') {
      const event = alertEventSchema.parse({
        fingerprint,
        name: firing.name,
        status: 'RESOLVED',
        severity: firing.severity,
        source: 'backups',
        message: `The ${what} of ${run.backupId} succeeded`,
        labels: firing.labels,
        startsAt: firing.startsAt,
        endsAt: new Date().toISOString(),
      });
      await publisher.publish(Topic.MonitoringAlerts, alertEnvelope(event), { key: fingerprint });
    }
  }

  return {
    async backupStore(input: { backupId: string; store: BackupStore }): Promise<StoreBackup> {
      return takeStoreBackup({
        env,
        destination: backupDestination(env),
        backupId: input.backupId,
        store: input.store,
        progress: heartbeater(),
      });
    },

    async completeBackup(input: {
      backupId: string;
      reason: BackupReason;
      createdAt: string;
      workflowId: string;
      runKey: string;
      stores: StoreBackup[];
    }): Promise<{ backupId: string; bytes: number; files: number; destination: string }> {
      const destination = backupDestination(env);
      const manifest = await writeManifest(destination, {
        id: input.backupId,
        reason: input.reason,
        createdAt: input.createdAt,
        workflowId: input.workflowId,
        stores: input.stores,
      });
      await record({
        runKey: input.runKey,
        kind: 'BACKUP',
        backupId: manifest.id,
        ok: true,
        problems: [],
        details: {
          destination: destination.description,
          stores: Object.fromEntries(
            manifest.stores.map((s) => [
              s.store,
              { durationMs: s.durationMs, bytes: s.files.reduce((n, f) => n + f.bytes, 0), counts: s.counts },
            ]),
          ),
        },
        durationMs: Date.parse(manifest.completedAt) - Date.parse(input.createdAt),
        startedAt: input.createdAt,
        bytes: manifest.totals.bytes,
      });
      return {
        backupId: manifest.id,
        bytes: manifest.totals.bytes,
        files: manifest.totals.files,
        destination: destination.description,
      };
    },

    /** A backup run that failed: recorded, and alerted on. Its files stay, incomplete, for retention. */
    async recordBackupFailure(input: {
      backupId: string;
      runKey: string;
      createdAt: string;
      error: string;
    }): Promise<void> {
      await record({
        runKey: input.runKey,
        kind: 'BACKUP',
        backupId: input.backupId,
        ok: false,
        problems: [input.error],
        details: {},
        durationMs: Date.now() - Date.parse(input.createdAt),
        startedAt: input.createdAt,
        bytes: 0,
      });
    },

    async applyBackupRetention(input: {
      now: string;
      dryRun?: boolean;
    }): Promise<RetentionDecision & { deletedKeys: number }> {
      const destination = backupDestination(env);
      const backups = await listBackups(destination);
      const decision = decideRetention(
        backups,
        { keepDaily: env.BACKUP_KEEP_DAILY, keepWeekly: env.BACKUP_KEEP_WEEKLY },
        new Date(input.now),
      );
      let deletedKeys = 0;
      if (!input.dryRun) {
        for (const { id } of decision.remove) {
          deletedKeys += await deleteBackup(destination, id);
          Context.current().heartbeat(`deleted ${id}`);
        }
      }
      return { ...decision, deletedKeys };
    },

    /** Restores a backup (the newest by default) into scratch targets and compares it with its manifest. */
    async drillBackup(input: { backupId?: string; runKey: string; startedAt: string }): Promise<DrillResult> {
      const destination = backupDestination(env);
      const started = Date.now();
      let result: DrillResult;
      const backupId = input.backupId ?? (await latestBackup(destination))?.id ?? null;
      if (!backupId) {
        result = {
          backupId: null,
          ok: false,
          problems: [`there is no complete backup in ${destination.description} to drill`],
          stores: [],
          durationMs: 0,
        };
      } else {
        try {
          const manifest = (await listBackups(destination)).find((b) => b.id === backupId)?.manifest;
          const stores = backupStores.filter((s) => manifest?.stores.some((p) => p.store === s));
          const restored = await restoreBackup({
            env,
            destination,
            backupId,
            stores,
            progress: heartbeater(),
            replace: false,
          });
          result = {
            backupId,
            ok: true,
            problems: [],
            stores: restored.checks.map(({ store, ok, problems, durationMs }) => ({
              store,
              ok,
              problems,
              durationMs,
            })),
            durationMs: Date.now() - started,
          };
        } catch (err) {
          if (!(err instanceof BackupRejected)) {
            // Something on our side (a store down): Temporal retries; the last attempt records the failure.
            const info = Context.current().info;
            if (info.attempt < 3) throw err;
          }
          result = {
            backupId,
            ok: false,
            problems: err instanceof BackupRejected ? err.problems : [(err as Error).message],
            stores: [],
            durationMs: Date.now() - started,
          };
        }
      }
      await record({
        runKey: input.runKey,
        kind: 'DRILL',
        backupId: result.backupId ?? '',
        ok: result.ok,
        problems: result.problems,
        details: { stores: result.stores },
        durationMs: result.durationMs,
        startedAt: input.startedAt,
        bytes: 0,
      });
      return result;
    },
  };
}
