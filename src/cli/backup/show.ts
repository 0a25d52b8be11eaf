// `prism backup show <id>`: what a backup holds, from its manifest.
import type { Command } from 'commander';
import { backupDestination } from '../../backup/destination.ts';
import { loadConfig } from '../../config.ts';
import { describeManifest, manifestOf } from './shared.ts';

export function registerShow(backup: Command): void {
  backup
    .command('show <id>')
    .description('what a backup holds: its manifest (latest: the newest complete backup)')
    .option('--json', 'print the manifest as JSON')
    .action(showBackup);
}

async function showBackup(id: string, opts: { json?: boolean }): Promise<void> {
  const env = loadConfig();
  const manifest = await manifestOf(backupDestination(env), id);
  process.stdout.write(
    opts.json ? `${JSON.stringify(manifest, null, 2)}\n` : `${describeManifest(manifest)}\n`,
  );
}
