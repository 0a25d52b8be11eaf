// What the `prism backup` subcommands share: their --store option, a manifest's summary, following a workflow's
// progress, a Temporal connection for one command, and the terminal's yes/no.
import { createInterface } from 'node:readline/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { latestBackup, readManifest } from '../../backup/backup.ts';
import type { BackupDestination } from '../../backup/destination.ts';
import { backupStores, type BackupManifest, type BackupStore } from '../../backup/manifest.ts';
import { connectTemporal } from '../../clients/temporal.ts';
import type { Env } from '../../config.ts';
import type { consoleProgress } from '../../progress.ts';
import type { BackupProgress } from '../../../workflows/backup.ts';
import { ValidationError } from '../../validation.ts';

export function parseStores(values: string[] | undefined, fallback: readonly BackupStore[]): BackupStore[] {
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

/** The manifest of backup `id` (`latest`: the newest complete backup); throws when there is none. */
export async function manifestOf(destination: BackupDestination, id: string): Promise<BackupManifest> {
  const manifest = id === 'latest' ? await latestBackup(destination) : await readManifest(destination, id);
  if (!manifest) throw new Error(`there is no complete backup in ${destination.description}`);
  return manifest;
}

export const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function describeManifest(m: BackupManifest): string {
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
export async function follow<T>(
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

export async function withTemporal<T>(env: Env, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTemporal(env);
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function failureMessage(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    return err.cause?.message ?? err.message;
  }
  return (err as Error).message;
}
