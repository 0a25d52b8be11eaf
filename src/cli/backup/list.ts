// `prism backup list`: the backups in the destination, oldest first, incomplete ones with their problem.
import type { Command } from 'commander';
import { listBackups } from '../../backup/backup.ts';
import { backupDestination } from '../../backup/destination.ts';
import { loadConfig } from '../../config.ts';
import { mb } from './shared.ts';

export function registerList(backup: Command): void {
  backup
    .command('list')
    .description('the backups in the destination, oldest first (incomplete ones too)')
    .option('--json', 'print JSON')
    .action(listCommand);
}

async function listCommand(opts: { json?: boolean }): Promise<void> {
  const env = loadConfig();
  const destination = backupDestination(env);
  const list = await listBackups(destination);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ destination: destination.description, backups: list.map(({ keys, ...b }) => ({ ...b, files: keys.length })) }, null, 2)}\n`,
    );
    return;
  }
  if (list.length === 0) {
    process.stdout.write(`no backups in ${destination.description}\n`);
    return;
  }
  process.stdout.write(`backups in ${destination.description}:\n`);
  for (const b of list) {
    if (b.manifest) {
      const m = b.manifest;
      process.stdout.write(
        `  ${m.id}  ${m.reason.padEnd(11)} ${mb(m.totals.bytes).padStart(10)}  ${m.stores.map((s) => s.store).join(',')}\n`,
      );
    } else {
      process.stdout.write(`  ${b.id}  INCOMPLETE (${b.problem ?? 'no manifest'}; ${b.keys.length} files)\n`);
    }
  }
}
