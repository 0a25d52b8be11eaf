// A backup is the files of each store under `<backupId>/<store>/` and, written last, its manifest
// `<backupId>/manifest.json`: what was taken, from which server versions, every file's size and sha256,
// how long each store took and what it held (rows per table, keys per Redis database, objects per
// collection, points per measurement, with a digest of the contents where one is computed). A backup
// without a manifest is incomplete, whatever files it has.
import { z } from 'zod';
import { validate } from '../validation.ts';

import { backupStores } from './contract.ts';
export * from './contract.ts';

export const manifestFormat = 1;
export const manifestName = 'manifest.json';

const fileSchema = z.object({
  /** Key relative to the backup: `<store>/<name>`. */
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BackupFile = z.infer<typeof fileSchema>;

const storeSchema = z.object({
  store: z.enum(backupStores),
  /** How it was taken, for people: `pg_dump custom format (snapshot)`. */
  method: z.string(),
  /** The server's version when it was taken. */
  serverVersion: z.string(),
  startedAt: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
  files: z.array(fileSchema).min(1),
  /** What it held: table → rows, `db1` → keys, collection → objects, measurement → points. */
  counts: z.record(z.string(), z.number().int().nonnegative()),
  /** Per part (table, collection, ...): a sha256 of its contents in a canonical order, where computed. */
  digests: z.record(z.string(), z.string()).default({}),
  /** What the backup covers, e.g. the database name or the collection prefix. */
  scope: z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())])),
});
export type StoreBackup = z.infer<typeof storeSchema>;

export const manifestSchema = z.object({
  format: z.literal(manifestFormat),
  id: z.string().min(1),
  reason: z.enum(['schedule', 'manual', 'pre-restore', 'test']),
  createdAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  product: z.object({ name: z.literal('prism-orchestration'), version: z.string() }),
  /** The Temporal run that took it. */
  workflowId: z.string().optional(),
  stores: z.array(storeSchema).min(1),
  totals: z.object({ bytes: z.number().int().nonnegative(), files: z.number().int().nonnegative() }),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

export function parseManifest(text: string, id: string): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`backup ${id}: its manifest is not JSON (${(err as Error).message})`);
  }
  const manifest = validate(manifestSchema, json, { what: `backup ${id}: invalid manifest` });
  if (manifest.id !== id) throw new Error(`backup ${id}: its manifest names another backup (${manifest.id})`);
  return manifest;
}

export function totalsOf(stores: StoreBackup[]): BackupManifest['totals'] {
  const files = stores.flatMap((s) => s.files);
  return { files: files.length, bytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}

/** The differences between what a store held when backed up and what a restore of it holds. */
export function compareContents(
  expected: Pick<StoreBackup, 'counts' | 'digests'>,
  actual: Pick<StoreBackup, 'counts' | 'digests'>,
): string[] {
  const problems: string[] = [];
  const parts = new Set([...Object.keys(expected.counts), ...Object.keys(actual.counts)]);
  for (const part of [...parts].sort()) {
    const want = expected.counts[part] ?? 0;
    const got = actual.counts[part] ?? 0;
    if (want !== got) problems.push(`${part}: ${got} instead of ${want}`);
  }
  for (const [part, digest] of Object.entries(expected.digests).sort()) {
    if (actual.digests[part] === undefined) problems.push(`${part}: no digest to compare`);
    else if (actual.digests[part] !== digest) problems.push(`${part}: contents differ (digest)`);
  }
  return problems;
}
