// The record of each backup and restore drill (`backup_runs`), one row per run key: recording a run
// again (a retried activity) replaces the row rather than adding one.
import type { PrismaClient } from '../../db/prisma.ts';

export interface BackupRunRow {
  runKey: string;
  kind: 'BACKUP' | 'DRILL';
  backupId: string;
  ok: boolean;
  problems: string[];
  details: object;
  durationMs: number;
  startedAt: Date;
}

export async function recordBackupRun(prisma: PrismaClient, run: BackupRunRow): Promise<void> {
  const { runKey, ...data } = run;
  await prisma.backupRun.upsert({ where: { runKey }, create: { runKey, ...data }, update: data });
}
