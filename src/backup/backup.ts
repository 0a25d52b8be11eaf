// Taking, listing, verifying and restoring backups: the functions the backup workflows' activities and the
// `prism backup` commands share. Each store's part is taken on its own (an activity Temporal can retry alone)
// into a local working directory, checked, and uploaded under `<backupId>/<store>/`; the manifest is written
// last. A restore fetches the files, checks every sha256 against the manifest, restores each store into a
// scratch target, compares what it holds with the manifest, and only then replaces the live data.
import { PrismError } from '../errors.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Env } from '../config.ts';
import { asBackup } from '../identity.ts';
import { repoRoot } from '../repo.ts';
import type { BackupDestination } from './destination.ts';
import {
  backupStores,
  compareContents,
  isBackupId,
  manifestFormat,
  manifestName,
  parseManifest,
  totalsOf,
  type BackupManifest,
  type BackupStore,
  type StoreBackup,
} from './manifest.ts';
import { influxStore } from './stores/influxdb.ts';
import { postgresStore } from './stores/postgres.ts';
import { redisStore } from './stores/redis.ts';
import { temporalStore } from './stores/temporal.ts';
import type { ScratchRestore, StoreContext, StoreModule } from './stores/types.ts';
import { weaviateStore } from './stores/weaviate.ts';
import { sha256File } from './tools.ts';

export const storeModules: Record<BackupStore, StoreModule> = {
  postgres: postgresStore,
  redis: redisStore,
  weaviate: weaviateStore,
  influxdb: influxStore,
  temporal: temporalStore,
};

export type ProgressFn = (message: string) => void;

/** A backup that must not be restored: files missing or changed, or no manifest. Nothing was changed. */
export class BackupRejected extends PrismError {
  constructor(
    readonly backupId: string,
    readonly problems: string[],
    /** The step of a restore that found it unusable (default: comparing what was restored with the manifest). */
    public step = 'comparing the restored data with the manifest',
  ) {
    super('BACKUP_REJECTED', `backup ${backupId} cannot be used: ${problems.join('; ')}`);
    this.name = 'BackupRejected';
  }
}

/** An error's reason in words, never empty (some libraries throw errors with no message, only a code). */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const message = err.message.trim() || (err.cause instanceof Error ? err.cause.message.trim() : '');
    return [message || err.name || 'an error without a message', code ? `(${String(code)})` : '']
      .filter(Boolean)
      .join(' ');
  }
  return String(err) || 'an unknown error';
}

/** A restore that failed at one step of one store: says which, why, and what became of the live data. */
export class RestoreFailed extends PrismError {
  constructor(
    readonly backupId: string,
    readonly store: BackupStore | 'backup',
    readonly step: string,
    readonly reason: string,
    /** Whether live data had been replaced when it failed (the stores replaced before this one). */
    readonly replacedBefore: string[],
  ) {
    super(
      'RESTORE_FAILED',
      `restore of backup ${backupId} failed at ${store}: ${step}: ${reason}` +
        (replacedBefore.length
          ? `\nAlready replaced before the failure:\n${replacedBefore.map((r) => `  ${r}`).join('\n')}`
          : '\nNothing live was changed.'),
    );
    this.name = 'RestoreFailed';
  }
}

/** Runs one step of a restore; its failure becomes a RestoreFailed naming the store and the step. */
async function restoreStep<T>(
  at: { backupId: string; store: BackupStore | 'backup'; step: string; replaced: string[] },
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BackupRejected) {
      err.step = at.step;
      throw err;
    }
    if (err instanceof RestoreFailed) throw err;
    throw new RestoreFailed(at.backupId, at.store, at.step, reasonOf(err), [...at.replaced]);
  }
}

async function withWorkDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'prism-backup-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const scratchSuffixOf = (backupId: string) => backupId.slice(-4) + Date.now().toString(36).slice(-4);

/** Takes one store's part of backup `backupId` and uploads it. Idempotent: a retry overwrites the part. */
export async function takeStoreBackup(args: {
  env: Env;
  destination: BackupDestination;
  backupId: string;
  store: BackupStore;
  progress: ProgressFn;
}): Promise<StoreBackup> {
  const { env, destination, backupId, store, progress } = args;
  const startedAt = new Date();
  return withWorkDir(async (workDir) => {
    const ctx: StoreContext = {
      env: asBackup(env),
      workDir,
      progress,
      scratchSuffix: scratchSuffixOf(backupId),
    };
    const taken = await storeModules[store].take(ctx);
    const files = [];
    for (const file of taken.files) {
      const key = `${store}/${basename(file)}`;
      const { sha256, bytes } = await sha256File(file);
      progress(
        `${store}: uploading ${key} (${(bytes / 1_048_576).toFixed(1)} MB) to ${destination.description}`,
      );
      await destination.put(`${backupId}/${key}`, file);
      files.push({ key, bytes, sha256 });
    }
    return {
      ...taken,
      store,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      files,
    };
  });
}

export async function productVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Writes the manifest, which makes the backup complete. */
export async function writeManifest(
  destination: BackupDestination,
  input: Pick<BackupManifest, 'id' | 'reason' | 'createdAt' | 'workflowId' | 'stores'>,
): Promise<BackupManifest> {
  const manifest: BackupManifest = {
    format: manifestFormat,
    ...input,
    completedAt: new Date().toISOString(),
    product: { name: 'prism-orchestration', version: await productVersion() },
    totals: totalsOf(input.stores),
  };
  await withWorkDir(async (dir) => {
    const file = join(dir, manifestName);
    await writeFile(file, JSON.stringify(manifest, null, 2) + '\n');
    await destination.put(`${manifest.id}/${manifestName}`, file);
  });
  return manifest;
}

export interface BackupListing {
  id: string;
  /** Only a backup with a manifest is complete; the others were interrupted (or are being taken). */
  complete: boolean;
  manifest?: BackupManifest;
  /** Why a manifest could not be read. */
  problem?: string;
  keys: string[];
}

/** Every backup in the destination, oldest first. */
export async function listBackups(destination: BackupDestination): Promise<BackupListing[]> {
  const byId = new Map<string, string[]>();
  for (const key of await destination.list('')) {
    const id = key.split('/')[0]!;
    if (!isBackupId(id)) continue; // not ours: another tool's files under the same prefix
    byId.set(id, [...(byId.get(id) ?? []), key]);
  }
  const listings: BackupListing[] = [];
  for (const [id, keys] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!keys.includes(`${id}/${manifestName}`)) {
      listings.push({ id, complete: false, keys });
      continue;
    }
    try {
      listings.push({ id, complete: true, manifest: await readManifest(destination, id), keys });
    } catch (err) {
      listings.push({ id, complete: false, problem: (err as Error).message, keys });
    }
  }
  return listings;
}

export async function readManifest(destination: BackupDestination, id: string): Promise<BackupManifest> {
  return withWorkDir(async (dir) => {
    const file = join(dir, manifestName);
    try {
      await destination.get(`${id}/${manifestName}`, file);
    } catch {
      const keys = await destination.list(`${id}/`);
      throw new BackupRejected(id, [
        keys.length === 0 ? 'no such backup' : 'it has no manifest: it is incomplete (interrupted)',
      ]);
    }
    return parseManifest(await readFile(file, 'utf8'), id);
  });
}

/** The newest complete backup, or undefined. */
export async function latestBackup(destination: BackupDestination): Promise<BackupManifest | undefined> {
  return (await listBackups(destination)).filter((b) => b.complete).at(-1)?.manifest;
}

/**
 * Downloads the files of `stores` into `dir/<store>/` and checks each one's size and sha256 against the
 * manifest. Throws BackupRejected naming every file that is missing or differs.
 */
export async function fetchVerified(
  destination: BackupDestination,
  manifest: BackupManifest,
  stores: readonly BackupStore[],
  dir: string,
  progress: ProgressFn,
): Promise<void> {
  const problems: string[] = [];
  for (const store of stores) {
    const part = manifest.stores.find((s) => s.store === store);
    if (!part) {
      problems.push(`it has no ${store} backup`);
      continue;
    }
    for (const f of part.files) {
      const file = join(dir, f.key);
      try {
        await destination.get(`${manifest.id}/${f.key}`, file);
      } catch (err) {
        problems.push(`${f.key} is missing (${(err as Error).message})`);
        continue;
      }
      const actual = await sha256File(file);
      if (actual.bytes !== f.bytes)
        problems.push(`${f.key} has ${actual.bytes} bytes, the manifest says ${f.bytes}`);
      else if (actual.sha256 !== f.sha256)
        problems.push(`${f.key} does not match its sha256 (changed or damaged)`);
      else progress(`${store}: ${f.key} checked (sha256 ${f.sha256.slice(0, 12)}…)`);
    }
  }
  if (problems.length > 0) throw new BackupRejected(manifest.id, problems);
}

export interface StoreCheck {
  store: BackupStore;
  ok: boolean;
  problems: string[];
  /** Where it was restored for the check. */
  scratch?: string;
  durationMs: number;
}

export interface RestoreOptions {
  env: Env;
  destination: BackupDestination;
  backupId: string;
  stores: readonly BackupStore[];
  progress: ProgressFn;
  /** Asked once every store is restored into scratch and matches; false: nothing is replaced. */
  confirm?: (plan: { store: BackupStore; scratch: string }[]) => Promise<boolean>;
  /** false: restore into scratch and check only (verify --deep, the drill). */
  replace: boolean;
  /** Check the files' sizes and sha256 only, restore nothing. */
  checksumsOnly?: boolean;
  temporalServer?: StoreContext['temporalServer'];
}

export interface RestoreResult {
  backupId: string;
  checks: StoreCheck[];
  /** What each replaced store's live data became, when replaced. */
  replaced: string[];
  /** Why nothing was replaced, when it was not. */
  declined?: string;
}

/**
 * Restores a backup: checks its files, restores the chosen stores into scratch targets, compares them with
 * the manifest; then (if `replace` and confirmed) replaces the live data, store by store. On any mismatch
 * it throws BackupRejected and nothing live has changed. Scratch targets are always removed.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { env, destination, backupId, stores, progress } = options;
  const manifest = await readManifest(destination, backupId);
  return withWorkDir(async (dir) => {
    progress(`checking the files of backup ${backupId} against its manifest`);
    const none: string[] = [];
    await restoreStep(
      { backupId, store: 'backup', step: 'fetching and checking its files', replaced: none },
      () => fetchVerified(destination, manifest, stores, dir, progress),
    );
    if (options.checksumsOnly) {
      return {
        backupId,
        checks: stores.map((store) => ({ store, ok: true, problems: [], durationMs: 0 })),
        replaced: [],
      };
    }
    const restored: { store: BackupStore; scratch: ScratchRestore }[] = [];
    const checks: StoreCheck[] = [];
    try {
      for (const store of stores) {
        const part = manifest.stores.find((s) => s.store === store)!;
        const started = Date.now();
        const ctx: StoreContext = {
          env: asBackup(env),
          workDir: join(dir, store),
          progress,
          scratchSuffix: scratchSuffixOf(backupId),
          temporalServer: options.temporalServer,
        };
        progress(`${store}: restoring into a scratch target`);
        const scratch = await restoreStep(
          { backupId, store, step: 'restoring into a scratch target', replaced: none },
          () => storeModules[store].restoreToScratch(ctx, part),
        );
        restored.push({ store, scratch });
        const problems = compareContents(part, scratch);
        checks.push({
          store,
          ok: problems.length === 0,
          problems,
          scratch: scratch.description,
          durationMs: Date.now() - started,
        });
        progress(
          problems.length === 0
            ? `${store}: ${scratch.description} holds what the manifest says (${describeCounts(part.counts)})`
            : `${store}: ${scratch.description} differs from the manifest: ${problems.join('; ')}`,
        );
      }
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0) {
        throw new BackupRejected(
          backupId,
          failed.map((c) => `${c.store}: ${c.problems.join('; ')}`),
        );
      }
      if (!options.replace) return { backupId, checks, replaced: [] };
      const plan = restored.map((r) => ({ store: r.store, scratch: r.scratch.description }));
      const confirmed =
        !options.confirm ||
        (await restoreStep(
          {
            backupId,
            store: 'backup',
            step: 'confirming (and the safety backup of the live data)',
            replaced: none,
          },
          () => options.confirm!(plan),
        ));
      if (!confirmed) {
        return { backupId, checks, replaced: [], declined: 'not confirmed: nothing was replaced' };
      }
      const replaced: string[] = [];
      for (const { store, scratch } of restored) {
        progress(`${store}: replacing the live data`);
        replaced.push(
          await restoreStep({ backupId, store, step: 'replacing the live data', replaced }, () =>
            scratch.promote(),
          ),
        );
        progress(`${store}: ${replaced.at(-1)}`);
      }
      return { backupId, checks, replaced };
    } finally {
      for (const { scratch } of restored) await scratch.drop().catch(() => undefined);
    }
  });
}

function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return `${total} in ${entries.length} part${entries.length === 1 ? '' : 's'}`;
}

/** Deletes a backup: the manifest first (so that it is known incomplete at once), then its files. */
export async function deleteBackup(destination: BackupDestination, id: string): Promise<number> {
  const keys = await destination.list(`${id}/`);
  const manifest = `${id}/${manifestName}`;
  if (keys.includes(manifest)) await destination.remove([manifest]);
  await destination.remove(keys.filter((k) => k !== manifest));
  return keys.length;
}

export { backupStores };
