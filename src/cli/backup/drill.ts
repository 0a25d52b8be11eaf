// `prism backup drill`: starts the backupDrill workflow (a backup restored into scratch targets and compared
// with its manifest) and follows it to its end.
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { consoleProgress } from '../../progress.ts';
import { temporalRunUrl } from '../../task/client.ts';
import { failureMessage, follow, seconds, withTemporal } from './shared.ts';

export function registerDrill(backup: Command): void {
  backup
    .command('drill')
    .description(
      'run the restore drill now (the backupDrill workflow): the newest backup into scratch targets',
    )
    .option('--backup <id>', 'drill this backup instead of the newest')
    .option('--json', 'print the result as JSON')
    .action(runDrill);
}

async function runDrill(opts: { backup?: string; json?: boolean }): Promise<void> {
  const env = loadConfig();
  const progress = consoleProgress('drill');
  await withTemporal(env, async (client) => {
    const workflowId = `backup-drill-manual-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    const handle = await client.workflow.start('backupDrill', {
      workflowId,
      taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      args: [{ backupId: opts.backup }],
    });
    progress.step(`started ${workflowId}: ${temporalRunUrl(env, workflowId)}`);
    try {
      const result = await follow<{ backupId: string; durationMs: number }>(handle, progress, false);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `the drill restored backup ${result.backupId} and found it as its manifest says (${seconds(result.durationMs)})\n`,
      );
    } catch (err) {
      throw new Error(`the drill failed: ${failureMessage(err)}`);
    }
  });
}
