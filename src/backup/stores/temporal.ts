// Temporal's own persistence, where it is ours to back up (TEMPORAL_PERSISTENCE):
// - `sqlite:<file>`: the native dev server's database, copied with SQLite's online backup (`.backup`), which
//   gives a consistent copy while the server writes; read back with `PRAGMA integrity_check` and row counts.
// - `postgres`: the Compose server's databases `temporal` and `temporal_visibility`, dumped as the product's.
// It is the whole server's history (every namespace on it), so a restore replaces it only when asked by
// name, and with the server stopped: Temporal caches what it reads.
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { resolveTool, runTool } from '../tools.ts';
import { derivedDatabase, dropDatabase, dumpDatabase, restoreDatabase, swapDatabase } from './postgres.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';
import { temporalTarget } from '../../clients/temporal.ts';

const sqliteName = 'temporal.db';
const postgresDatabases = ['temporal', 'temporal_visibility'] as const;

function persistence(ctx: StoreContext): { kind: 'sqlite'; file: string } | { kind: 'postgres' } {
  const value = ctx.env.TEMPORAL_PERSISTENCE;
  return value === 'postgres'
    ? { kind: 'postgres' }
    : { kind: 'sqlite', file: value.slice('sqlite:'.length) };
}

async function temporalVersion(ctx: StoreContext): Promise<string> {
  const connection = await Connection.connect({ ...temporalTarget(ctx.env), connectTimeout: '5s' });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return info.serverVersion ?? 'unknown';
  } finally {
    await connection.close();
  }
}

const sqlite = (ctx: StoreContext, file: string, sql: string) =>
  runTool(resolveTool('sqlite3', ctx.env), ['-readonly', '-batch', '-noheader', file, sql], {
    label: 'sqlite3',
  });

/** Rows per table of a SQLite file, after checking its integrity. */
async function sqliteContents(ctx: StoreContext, file: string) {
  const check = (await sqlite(ctx, file, 'PRAGMA integrity_check;')).trim();
  if (check !== 'ok') throw new Error(`the Temporal database copy is damaged: ${check.slice(0, 300)}`);
  const tables = (
    await sqlite(ctx, file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;")
  )
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => /^[A-Za-z0-9_]+$/.test(t));
  const counts: Record<string, number> = {};
  if (tables.length > 0) {
    const sql = tables.map((t) => `SELECT '${t}', count(*) FROM "${t}";`).join('\n');
    for (const line of (await sqlite(ctx, file, sql)).trim().split('\n')) {
      const [table, n] = line.split('|');
      if (table) counts[table] = Number(n);
    }
  }
  return { counts, digests: {} };
}

export const temporalStore: StoreModule = {
  store: 'temporal',
  async take(ctx): Promise<TakenStore> {
    const where = persistence(ctx);
    const serverVersion = await temporalVersion(ctx);
    if (where.kind === 'postgres') {
      const files: string[] = [];
      const counts: Record<string, number> = {};
      const digests: Record<string, string> = {};
      for (const db of postgresDatabases) {
        const file = join(ctx.workDir, `${db}.dump`);
        const dumped = await dumpDatabase(ctx.env, db, file, ctx, `${db}/`);
        files.push(file);
        Object.assign(counts, dumped.counts);
        Object.assign(digests, dumped.digests);
      }
      return {
        method: 'pg_dump of Temporal databases, custom format',
        serverVersion,
        files,
        counts,
        digests,
        scope: { persistence: 'postgres', databases: [...postgresDatabases] },
      };
    }
    const file = join(ctx.workDir, sqliteName);
    ctx.progress(`temporal: copying ${where.file} (SQLite online backup)`);
    await runTool(
      resolveTool('sqlite3', ctx.env),
      ['-batch', where.file, `.backup '${file.replace(/'/g, "''")}'`],
      {
        onTick: () => ctx.progress('temporal: copying its database'),
        label: 'sqlite3 .backup',
      },
    );
    const contents = await sqliteContents(ctx, file);
    return {
      method: 'SQLite online backup (.backup) of the dev server database, integrity-checked',
      serverVersion,
      files: [file],
      ...contents,
      scope: { persistence: 'sqlite', file: where.file },
    };
  },
  async restoreToScratch(ctx): Promise<ScratchRestore> {
    const where = persistence(ctx);
    if (where.kind === 'postgres') {
      const restored: Record<string, string> = {};
      const counts: Record<string, number> = {};
      const digests: Record<string, string> = {};
      try {
        for (const db of postgresDatabases) {
          const scratch = derivedDatabase(db, `restore_${ctx.scratchSuffix}`);
          const contents = await restoreDatabase(
            ctx.env,
            join(ctx.workDir, `${db}.dump`),
            scratch,
            ctx,
            `${db}/`,
          );
          restored[db] = scratch;
          Object.assign(counts, contents.counts);
          Object.assign(digests, contents.digests);
        }
      } catch (err) {
        for (const scratch of Object.values(restored))
          await dropDatabase(ctx.env, scratch).catch(() => undefined);
        throw err;
      }
      return {
        description: `databases ${Object.values(restored).join(', ')}`,
        counts,
        digests,
        async promote() {
          const server = requireServer(ctx);
          await server.stop();
          const kept: string[] = [];
          try {
            for (const db of postgresDatabases) {
              const old = derivedDatabase(db, `before_restore_${ctx.scratchSuffix}`);
              await swapDatabase(ctx.env, db, restored[db]!, old);
              kept.push(old);
            }
          } finally {
            await server.start();
          }
          return `Temporal's databases restored; the previous ones are kept as ${kept.join(', ')}`;
        },
        async drop() {
          for (const scratch of Object.values(restored)) await dropDatabase(ctx.env, scratch);
        },
      };
    }
    const scratch = join(ctx.workDir, `scratch-${ctx.scratchSuffix}.db`);
    await copyFile(join(ctx.workDir, sqliteName), scratch);
    const contents = await sqliteContents(ctx, scratch);
    return {
      description: `the file ${scratch}`,
      ...contents,
      async promote() {
        const server = requireServer(ctx);
        const kept = `${where.file}.before-restore-${ctx.scratchSuffix}`;
        await server.stop();
        try {
          await copyFile(where.file, kept);
          for (const extra of ['-wal', '-shm']) await rm(`${where.file}${extra}`, { force: true });
          await copyFile(scratch, where.file);
        } finally {
          await server.start();
        }
        return `Temporal's database restored; the previous one is kept as ${kept}`;
      },
      drop: () => rm(scratch, { force: true }),
    };
  },
};

function requireServer(ctx: StoreContext): NonNullable<StoreContext['temporalServer']> {
  if (!ctx.temporalServer) {
    throw new Error(
      "Temporal's persistence can only be replaced with its server stopped: run `prism backup restore` on the machine that runs the stack",
    );
  }
  return ctx.temporalServer;
}
