// `prism backup run`: starts the backupRun workflow on the maintenance worker and follows it to its end.
import type { Command } from 'commander';
import { readManifest } from '../../backup/backup.ts';
import { backupDestination } from '../../backup/destination.ts';
import { backupStores } from '../../backup/manifest.ts';
import { loadConfig } from '../../config.ts';
import { consoleProgress } from '../../progress.ts';
import { temporalRunUrl } from '../../task/client.ts';
import { describeManifest, failureMessage, follow, parseStores, withTemporal } from './shared.ts';

export function registerRun(backup: Command): void {
  backup
    .command('run')
    .description('take a backup now (the backupRun workflow, on the maintenance worker) and follow it')
    .option('--store <store...>', `only these stores (${backupStores.join(', ')})`)
    .option('--no-wait', 'start it and return')
    .option('--json', 'print the result as JSON')
    .action(runBackup);
}

async function runBackup(opts: { store?: string[]; wait: boolean; json?: boolean }): Promise<void> {
  const env = loadConfig();
  const stores = parseStores(opts.store, backupStores);
  const progress = consoleProgress('backup');
  await withTemporal(env, async (client) => {
    const workflowId = `backup-manual-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    const handle = await client.workflow.start('backupRun', {
      workflowId,
      taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      args: [{ stores, reason: 'manual' }],
    });
    progress.step(`started ${workflowId}: ${temporalRunUrl(env, workflowId)}`);
    if (!opts.wait) return;
    try {
      const result = await follow<{ backupId: string; bytes: number; destination: string }>(
        handle,
        progress,
        true,
      );
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const manifest = await readManifest(backupDestination(env), result.backupId);
        process.stdout.write(`${describeManifest(manifest)}\n  in ${result.destination}\n`);
      }
    } catch (err) {
      throw new Error(`the backup failed: ${failureMessage(err)}`);
    }
  });
}
