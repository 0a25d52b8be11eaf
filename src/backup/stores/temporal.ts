// Temporal's own persistence: the server's databases `temporal` and `temporal_visibility` on the stack's
// PostgreSQL (both stacks), dumped and restored as the product's database is, owned by the role `temporal`
// (stack/postgres/temporal.sql). It is the whole server's history (every namespace on it), so a restore
// replaces it only when asked by name, and with the server stopped: Temporal caches what it reads.
// A backup of an earlier version, taken from the CLI's development server (SQLite), cannot be restored into
// this engine: the restore says so and names the version that can.
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporalDatabases, temporalRole } from '../../db/roles.ts';
import { postgresRoles } from '../../identity.ts';
import {
  derivedDatabase,
  dropDatabase,
  dumpDatabase,
  restoreDatabase,
  swapDatabase,
  type DatabaseAccess,
} from './postgres.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';
import { connectToFrontend } from '../../clients/temporal.ts';

const postgresDatabases = temporalDatabases;
const access: DatabaseAccess = {
  owner: temporalRole,
  connecting: [temporalRole, postgresRoles.backup, postgresRoles.monitor],
};

async function temporalVersion(ctx: StoreContext): Promise<string> {
  const connection = await connectToFrontend(ctx.env, (target) =>
    Connection.connect({ ...target, connectTimeout: '5s' }),
  );
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return info.serverVersion ?? 'unknown';
  } finally {
    await connection.close();
  }
}

export const temporalStore: StoreModule = {
  store: 'temporal',
  async take(ctx): Promise<TakenStore> {
    const serverVersion = await temporalVersion(ctx);
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
  },
  async restoreToScratch(ctx, backup): Promise<ScratchRestore> {
    if ((backup.scope as { persistence?: string } | undefined)?.persistence === 'sqlite') {
      throw new Error(
        "this backup holds the Temporal development server's SQLite database, which this version no longer runs " +
          '(the engine is the Temporal server on PostgreSQL): restore it with the version that took it',
      );
    }
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
          access,
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
