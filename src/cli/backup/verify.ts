// `prism backup verify <id>`: every file of a backup against its sha256, or (--deep) restored into scratch
// targets and compared with its manifest; the live data is never touched.
import type { Command } from 'commander';
import { restoreBackup } from '../../backup/backup.ts';
import { backupDestination } from '../../backup/destination.ts';
import { loadConfig } from '../../config.ts';
import { consoleProgress } from '../../progress.ts';
import { manifestOf, parseStores } from './shared.ts';

export function registerVerify(backup: Command): void {
  backup
    .command('verify <id>')
    .description(
      'check a backup: every file against its sha256; with --deep, restore it into scratch targets too',
    )
    .option('--deep', 'restore each store into a scratch target and compare it with the manifest')
    .option('--store <store...>', 'only these stores')
    .option('--json', 'print the result as JSON')
    .action(verifyBackup);
}

async function verifyBackup(
  id: string,
  opts: { deep?: boolean; store?: string[]; json?: boolean },
): Promise<void> {
  const env = loadConfig();
  const destination = backupDestination(env);
  const progress = consoleProgress('backup');
  const manifest = await manifestOf(destination, id);
  const stores = parseStores(
    opts.store,
    manifest.stores.map((s) => s.store),
  );
  const result = await restoreBackup({
    env,
    destination,
    backupId: manifest.id,
    stores,
    progress: (m) => progress.step(m),
    replace: false,
    ...(opts.deep ? {} : { checksumsOnly: true }),
  });
  if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, ...result }, null, 2)}\n`);
  else
    process.stdout.write(
      `backup ${manifest.id} is good (${opts.deep ? 'restored and compared' : 'checksums'})\n`,
    );
}
