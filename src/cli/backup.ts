// `prism backup run|list|show|verify|restore|drill|schedule`: backups as operators use them. `run` and
// `drill` start the workflows (the maintenance worker does the work; progress follows here and in the Temporal UI);
// `list`, `show`, `verify` and `restore` work straight on the destination and the stores, so that a restore
// needs no running worker, nor a running Temporal.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  BackupRejected,
  reasonOf,
  RestoreFailed,
  listBackups,
  readManifest,
  restoreBackup,
  latestBackup,
  takeStoreBackup,
  writeManifest,
  type RestoreResult,
} from '../backup/backup.ts';
import { backupDestination } from '../backup/destination.ts';
import {
  backupStores,
  defaultRestoreStores,
  newBackupId,
  type BackupManifest,
  type BackupStore,
} from '../backup/manifest.ts';
import { connectTemporal } from '../clients/temporal.ts';
import { loadConfig, type Env } from '../config.ts';
import { consoleProgress } from '../progress.ts';
import { resolveMode } from '../stack/index.ts';
import { nativeServiceControl } from '../stack/native.ts';
import { temporalRunUrl } from '../task/client.ts';
import type { BackupProgress } from '../../workflows/backup.ts';
import { ValidationError } from '../validation.ts';

const scheduleIds = { backup: 'backup', retention: 'backup-retention', drill: 'backup-drill' } as const;
type ScheduleName = keyof typeof scheduleIds;

function parseStores(values: string[] | undefined, fallback: readonly BackupStore[]): BackupStore[] {
  if (!values || values.length === 0) return [...fallback];
  const stores = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const unknown = stores.filter((s) => !(backupStores as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new ValidationError(
      [{ field: '--store', message: `unknown store ${unknown.join(', ')}: use ${backupStores.join(', ')}` }],
      'invalid option',
    );
  }
  return [...new Set(stores as BackupStore[])];
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describeManifest(m: BackupManifest): string {
  const lines = [
    `backup ${m.id} (${m.reason}), taken ${m.createdAt} → ${m.completedAt}, ${m.totals.files} files, ${mb(m.totals.bytes)}`,
  ];
  for (const s of m.stores) {
    const counts = Object.entries(s.counts);
    const total = counts.reduce((n, [, c]) => n + c, 0);
    lines.push(
      `  ${s.store.padEnd(9)} ${s.serverVersion.padEnd(10)} ${seconds(s.durationMs).padStart(8)} ` +
        `${mb(s.files.reduce((n, f) => n + f.bytes, 0)).padStart(10)}  ${total} in ${counts.length} ` +
        `(${s.method})`,
    );
  }
  return lines.join('\n');
}

/** Follows a backup workflow: its stores' states and the running activity's heartbeat, until it ends. */
async function follow<T>(
  handle: WorkflowHandle,
  progress: ReturnType<typeof consoleProgress>,
  withStores: boolean,
): Promise<T> {
  let last = '';
  const timer = setInterval(() => {
    void (async () => {
      const parts: string[] = [];
      if (withStores) {
        const p = await handle.query<BackupProgress>('backupProgress').catch(() => null);
        if (p)
          parts.push(
            Object.entries(p.stores)
              .map(([s, state]) => `${s} ${state}`)
              .join(', '),
          );
      }
      const d = await handle.describe().catch(() => null);
      for (const a of d?.raw.pendingActivities ?? []) {
        const payload = a.heartbeatDetails?.payloads?.[0]?.data;
        if (payload) parts.push(String(JSON.parse(Buffer.from(payload).toString())));
        if (a.lastFailure?.message) parts.push(`retrying after: ${a.lastFailure.message}`);
      }
      const line = parts.join(' · ');
      if (line && line !== last) progress.step(line);
      last = line || last;
    })();
  }, 1_000);
  try {
    return (await handle.result()) as T;
  } finally {
    clearInterval(timer);
  }
}

async function withTemporal<T>(env: Env, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTemporal(env);
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function failureMessage(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    return err.cause?.message ?? err.message;
  }
  return (err as Error).message;
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('backups of every store: take, list, check, restore, drill, and their schedules');

  backup
    .command('run')
    .description('take a backup now (the backupRun workflow, on the maintenance worker) and follow it')
    .option('--store <store...>', `only these stores (${backupStores.join(', ')})`)
    .option('--no-wait', 'start it and return')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { store?: string[]; wait: boolean; json?: boolean }) => {
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
    });

  backup
    .command('list')
    .description('the backups in the destination, oldest first (incomplete ones too)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
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
          process.stdout.write(
            `  ${b.id}  INCOMPLETE (${b.problem ?? 'no manifest'}; ${b.keys.length} files)\n`,
          );
        }
      }
    });

  backup
    .command('show <id>')
    .description('what a backup holds: its manifest (latest: the newest complete backup)')
    .option('--json', 'print the manifest as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const env = loadConfig();
      const destination = backupDestination(env);
      const manifest =
        id === 'latest' ? await latestBackup(destination) : await readManifest(destination, id);
      if (!manifest) throw new Error(`there is no complete backup in ${destination.description}`);
      process.stdout.write(
        opts.json ? `${JSON.stringify(manifest, null, 2)}\n` : `${describeManifest(manifest)}\n`,
      );
    });

  backup
    .command('verify <id>')
    .description(
      'check a backup: every file against its sha256; with --deep, restore it into scratch targets too',
    )
    .option('--deep', 'restore each store into a scratch target and compare it with the manifest')
    .option('--store <store...>', 'only these stores')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, opts: { deep?: boolean; store?: string[]; json?: boolean }) => {
      const env = loadConfig();
      const destination = backupDestination(env);
      const progress = consoleProgress('backup');
      const manifest =
        id === 'latest' ? await latestBackup(destination) : await readManifest(destination, id);
      if (!manifest) throw new Error(`there is no complete backup in ${destination.description}`);
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
    });

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
    .action(
      async (
        id: string,
        opts: { store?: string[]; yes?: boolean; safetyBackup: boolean; json?: boolean },
      ) => {
        const env = loadConfig();
        const destination = backupDestination(env);
        const progress = consoleProgress('restore');
        const step = (m: string) => progress.step(m);
        const manifest =
          id === 'latest' ? await latestBackup(destination) : await readManifest(destination, id);
        if (!manifest) throw new Error(`there is no complete backup in ${destination.description}`);
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
          // Every failure says which store and step failed and why, as text and in --json.
          const failure =
            err instanceof RestoreFailed
              ? {
                  store: err.store,
                  step: err.step,
                  reason: err.reason,
                  replacedBefore: err.replacedBefore,
                }
              : err instanceof BackupRejected
                ? {
                    store: 'backup',
                    step: err.step,
                    reason: err.problems.join('; '),
                    replacedBefore: [],
                  }
                : { store: 'backup', step: 'restoring', reason: reasonOf(err), replacedBefore: [] };
          if (opts.json) {
            process.stdout.write(
              `${JSON.stringify({ ok: false, backupId: manifest.id, ...failure }, null, 2)}\n`,
            );
          }
          if (err instanceof BackupRejected) throw new Error(`${err.message}\nNothing was changed.`);
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
      },
    );

  backup
    .command('drill')
    .description(
      'run the restore drill now (the backupDrill workflow): the newest backup into scratch targets',
    )
    .option('--backup <id>', 'drill this backup instead of the newest')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { backup?: string; json?: boolean }) => {
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
    });

  const schedule = backup
    .command('schedule')
    .description(`the backup schedules (${Object.keys(scheduleIds).join(', ')}) in Temporal`);

  schedule
    .command('list')
    .description('the backup schedules: when, paused or not, the last and next runs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const env = loadConfig();
      await withTemporal(env, async (client) => {
        const rows = [];
        for (const [name, scheduleId] of Object.entries(scheduleIds)) {
          const d = await client.schedule.getHandle(scheduleId).describe();
          rows.push({
            name,
            scheduleId,
            paused: d.state.paused,
            note: d.state.note,
            next: d.info.nextActionTimes[0]?.toISOString() ?? null,
            last: d.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
          });
        }
        if (opts.json) process.stdout.write(`${JSON.stringify({ schedules: rows }, null, 2)}\n`);
        else
          for (const r of rows)
            process.stdout.write(
              `${r.name.padEnd(10)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.next ?? '-'}  last ${r.last ?? '-'}\n  ${r.note}\n`,
            );
      });
    });

  for (const [verb, description] of [
    ['pause', 'pause a backup schedule (no runs until resumed)'],
    ['resume', 'resume a paused backup schedule'],
    ['trigger', 'start a run of a backup schedule now'],
  ] as const) {
    schedule
      .command(`${verb} <name>`)
      .description(`${description}: ${Object.keys(scheduleIds).join(', ')}`)
      .action(async (name: string) => {
        if (!(name in scheduleIds)) {
          throw new ValidationError(
            [
              {
                field: 'name',
                message: `unknown schedule "${name}": use ${Object.keys(scheduleIds).join(', ')}`,
              },
            ],
            'invalid argument',
          );
        }
        const env = loadConfig();
        await withTemporal(env, async (client) => {
          const handle = client.schedule.getHandle(scheduleIds[name as ScheduleName]);
          const by = `prism backup schedule ${verb}`;
          if (verb === 'pause') await handle.pause(by);
          else if (verb === 'resume') await handle.unpause(by);
          else await handle.trigger();
          process.stdout.write(
            `${verb === 'trigger' ? 'triggered' : `${verb}d`} schedule ${handle.scheduleId}\n`,
          );
        });
      });
  }
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
