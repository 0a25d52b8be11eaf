// The pure part of backups (no I/O, no zod): the stores and backup ids. Workflows import it.

export const backupStores = ['postgres', 'redis', 'weaviate', 'influxdb', 'temporal'] as const;
export type BackupStore = (typeof backupStores)[number];

/**
 * The stores a restore replaces unless told otherwise. Temporal's persistence is the whole server's (every
 * namespace on it, not only this deployment's), so it is restored only when named (`--store temporal`).
 */
export const defaultRestoreStores: readonly BackupStore[] = ['postgres', 'redis', 'weaviate', 'influxdb'];

/**
 * A new backup id: the UTC time it starts, then four random hex digits (`20261130T020000Z-3fa9`). Ids sort
 * by time; they are valid keys, Weaviate backup ids (lower case) and parts of workflow ids.
 */
export function newBackupId(at: Date, random: () => number): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${suffix}`.toLowerCase();
}

const backupIdPattern = /^\d{8}t\d{6}z-[0-9a-f]{4}$/;

export function isBackupId(value: string): boolean {
  return backupIdPattern.test(value);
}

/** When the backup with this id was started (its id says so). */
export function backupTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z/.exec(id);
  if (!m) throw new Error(`"${id}" is not a backup id (such as 20261130t020000z-3fa9)`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
