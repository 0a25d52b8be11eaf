// `prism backup restore <id>`: a backup into scratch targets first, compared with its manifest, then (confirmed,
// after a safety backup of the live data) in place of the live data. Works on the destination and the stores
// straight, so that it needs no running worker, nor a running Temporal.
import type { Command } from 'commander';
import {
  BackupRejected,
  reasonOf,
  RestoreFailed,
  restoreBackup,
  takeStoreBackup,
  writeManifest,
  type RestoreResult,
} from '../../backup/backup.ts';
import { backupDestination } from '../../backup/destination.ts';
import { defaultRestoreStores, newBackupId, type BackupStore } from '../../backup/manifest.ts';
import { loadConfig, type Env } from '../../config.ts';
import { consoleProgress } from '../../progress.ts';
import { resolveMode } from '../../stack/index.ts';
import { nativeServiceControl } from '../../stack/native.ts';
import { confirm, manifestOf, parseStores } from './shared.ts';

interface RestoreOptions {
  store?: string[];
  yes?: boolean;
  safetyBackup: boolean;
  json?: boolean;
}

export function registerRestore(backup: Command): void {
  backup
    .command('restore <id>')
    .description(
      'restore a backup: into scratch targets first, compared with the manifest, then (confirmed) in place of the live data',
    )
    .option(
      '--store <store...>',
      `the stores to restore (default ${defaultRestoreStores.join(', ')}; temporal only when named: it is the whole server's)`,
    )
    .option('--yes', 'do not ask for confirmation')
    .option('--no-safety-backup', 'do not back up the live data of those stores before replacing it')
    .option('--json', 'print the result as JSON')
    .action(restore);
}

async function restore(id: string, opts: RestoreOptions): Promise<void> {
  const env = loadConfig();
  const destination = backupDestination(env);
  const progress = consoleProgress('restore');
  const step = (m: string) => progress.step(m);
  const manifest = await manifestOf(destination, id);
  const stores = parseStores(opts.store, defaultRestoreStores);
  const temporalServer =
    stores.includes('temporal') && (await resolveMode(env)) === 'native'
      ? nativeServiceControl(env, 'temporal', progress)
      : undefined;
  let safety: string | undefined;
  let result: RestoreResult;
  try {
    result = await restoreBackup({
      env,
      destination,
      backupId: manifest.id,
      stores,
      progress: step,
      replace: true,
      temporalServer,
      confirm: async (plan) => {
        step(
          `every store matches backup ${manifest.id}: ${plan.map((p) => `${p.store} (${p.scratch})`).join(', ')}`,
        );
        if (
          !opts.yes &&
          !(await confirm(`Replace the live ${stores.join(', ')} data with backup ${manifest.id}?`))
        ) {
          return false;
        }
        if (opts.safetyBackup) safety = await safetyBackup(env, stores, step);
        return true;
      },
    });
  } catch (err) {
    const failure = failureOf(err);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, backupId: manifest.id, ...failure }, null, 2)}\n`);
    }
    if (err instanceof BackupRejected) {
      err.message = `${err.message}\nNothing was changed.`;
      throw err;
    }
    if (err instanceof RestoreFailed) throw err;
    throw new Error(`restore of backup ${manifest.id} failed: ${failure.reason}`, { cause: err });
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...result, safetyBackup: safety ?? null }, null, 2)}\n`);
    return;
  }
  if (result.declined) {
    process.stdout.write(
      `${result.declined}${!opts.yes && !process.stdin.isTTY ? ' (no terminal to ask: pass --yes)' : ''}\n`,
    );
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    `restored backup ${manifest.id}:\n${result.replaced.map((r) => `  ${r}`).join('\n')}\n` +
      (safety ? `the data it replaced is in backup ${safety}\n` : ''),
  );
}

/** Every failure says which store and step failed and why, as text and in --json. */
function failureOf(err: unknown): {
  store: string;
  step: string;
  reason: string;
  replacedBefore: string[];
} {
  if (err instanceof RestoreFailed) {
    return { store: err.store, step: err.step, reason: err.reason, replacedBefore: err.replacedBefore };
  }
  if (err instanceof BackupRejected) {
    return { store: 'backup', step: err.step, reason: err.problems.join('; '), replacedBefore: [] };
  }
  return { store: 'backup', step: 'restoring', reason: reasonOf(err), replacedBefore: [] };
}

/** Backs up the live data of `stores` in this process, before a restore replaces it. */
async function safetyBackup(env: Env, stores: BackupStore[], step: (m: string) => void): Promise<string> {
  const destination = backupDestination(env);
  const createdAt = new Date();
  const id = newBackupId(createdAt, Math.random);
  step(`backing up the live ${stores.join(', ')} data first, as backup ${id}`);
  const taken = [];
  for (const store of stores) {
    taken.push(await takeStoreBackup({ env, destination, backupId: id, store, progress: step }));
  }
  await writeManifest(destination, {
    id,
    reason: 'pre-restore',
    createdAt: createdAt.toISOString(),
    stores: taken,
  });
  return id;
}
