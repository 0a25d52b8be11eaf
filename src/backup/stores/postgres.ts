// PostgreSQL: a logical backup with pg_dump in its custom format, of the deployment's database only.
//
// Why logical and not a physical base backup with WAL: the server is shared (the tests' database, and
// Temporal's under Compose, live on it), a restore must be able to bring back one database into a scratch
// database next to the live one and swap, and pg_restore can; a base backup restores a whole cluster and
// needs WAL archiving set up on the server. The price is point-in-time recovery (a dump is one moment).
//
// Consistency: the row counts and content digests are taken in the very snapshot pg_dump dumps
// (pg_export_snapshot + --snapshot), so the manifest describes exactly the dump, however busy the database.
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import pg from 'pg';
import type { Env } from '../../config.ts';
import { pgToolConnection, createPgClient } from '../../clients/postgres.ts';
import { postgresRoles } from '../../identity.ts';
import { grantPrivileges } from '../../db/roles.ts';
import { resolveTool, runTool } from '../tools.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';

// Logged in as the backup role (src/identity.ts asBackup): it reads every table, creates and renames the
// product's databases (it may act as their owner, prism_migrator) and ends other sessions to swap one in.
type PgEnv = Pick<
  Env,
  'POSTGRES_HOST' | 'POSTGRES_PORT' | 'POSTGRES_LOGIN_USER' | 'POSTGRES_LOGIN_PASSWORD'
> &
  Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function connect(env: PgEnv, database: string): Promise<pg.Client> {
  // The primary, where POSTGRES_HOST names a primary and its standbys.
  const client = createPgClient({ ...env, POSTGRES_DB: database }, { connectionTimeoutMillis: 10_000 });
  await client.connect();
  // Row texts (for the digests) must not depend on the session: timestamps in UTC.
  await client.query("SET TIME ZONE 'UTC'");
  return client;
}

const toolEnv = (env: PgEnv) => pgToolConnection(env, '').env;
const connectionArgs = (env: PgEnv, database: string) => pgToolConnection(env, database).args;

/**
 * Rows and a digest per table: the digest is the sum of a 64-bit hash of each row's text, so it does not
 * depend on the order rows are read in. Tables of every schema but the system's.
 */
export async function tableContents(
  client: pg.Client,
  prefix = '',
): Promise<{ counts: Record<string, number>; digests: Record<string, string> }> {
  const { rows: tables } = await client.query<{ schemaname: string; tablename: string }>(
    `SELECT schemaname, tablename FROM pg_catalog.pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const counts: Record<string, number> = {};
  const digests: Record<string, string> = {};
  for (const { schemaname, tablename } of tables) {
    const name = `${prefix}${schemaname === 'public' ? '' : `${schemaname}.`}${tablename}`;
    const { rows } = await client.query<{ n: string; digest: string }>(
      `SELECT count(*) AS n, coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS digest
         FROM ${ident(schemaname)}.${ident(tablename)} t`,
    );
    counts[name] = Number(rows[0]!.n);
    digests[name] = rows[0]!.digest;
  }
  return { counts, digests };
}

/** Dumps one database (custom format) into `file`, with its contents as of the dump's snapshot. */
export async function dumpDatabase(
  env: PgEnv & Pick<Env, 'PRISM_STACK_HOME'>,
  database: string,
  file: string,
  ctx: Pick<StoreContext, 'progress'>,
  prefix = '',
): Promise<{ serverVersion: string; counts: Record<string, number>; digests: Record<string, string> }> {
  const client = await connect(env, database);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ snapshot: string; version: string }>(
      'SELECT pg_export_snapshot() AS snapshot, current_setting($1) AS version',
      ['server_version'],
    );
    const { snapshot, version } = rows[0]!;
    ctx.progress(`postgres: counting rows of ${database}`);
    const contents = await tableContents(client, prefix);
    ctx.progress(`postgres: dumping ${database}`);
    await runTool(
      resolveTool('pg_dump', env),
      [...connectionArgs(env, database), '--format=custom', `--snapshot=${snapshot}`, '--file', file],
      {
        env: toolEnv(env),
        onTick: () => {
          void stat(file).then(
            (s) => ctx.progress(`postgres: dumping ${database} (${mb(s.size)} so far)`),
            () => ctx.progress(`postgres: dumping ${database}`),
          );
        },
      },
    );
    await client.query('COMMIT');
    return { serverVersion: version, ...contents };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Restores a dump into a new database `target` (dropped first if a failed run left it). */
/**
 * Who owns a database and who may connect to it, as the stack's scripts set them for the live one: the
 * product's (stack/postgres/roles.sql), unless told otherwise (Temporal's: stack/postgres/temporal.sql).
 */
export interface DatabaseAccess {
  owner: string;
  connecting: string[];
}
const productAccess: DatabaseAccess = {
  owner: postgresRoles.migrator,
  connecting: [postgresRoles.app, postgresRoles.agent, postgresRoles.backup, postgresRoles.monitor],
};

export async function restoreDatabase(
  env: PgEnv & Pick<Env, 'PRISM_STACK_HOME'>,
  file: string,
  target: string,
  ctx: Pick<StoreContext, 'progress'>,
  prefix = '',
  access: DatabaseAccess = productAccess,
): Promise<{ counts: Record<string, number>; digests: Record<string, string> }> {
  const admin = await connect(env, 'postgres');
  // pg_restore goes to the server that created the database: libpq, given every node, may meet first a
  // standby that has not replayed the CREATE DATABASE yet, and a missing database ends its search there.
  const server: PgEnv = { ...env, POSTGRES_HOST: admin.host };
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(target)} WITH (FORCE)`);
    // Owned by the schema's owner, as the live database is; everything restored into it too (--role), whoever
    // owned it in the dump (a backup taken before the roles existed has the superuser's objects).
    await admin.query(`CREATE DATABASE ${ident(target)} OWNER ${ident(access.owner)}`);
    // Who may connect is the database's own setting, not in the dump: as the stack's scripts set it for the
    // live database, so that the restored one, swapped in, keeps it.
    await admin.query(`REVOKE ALL ON DATABASE ${ident(target)} FROM PUBLIC`);
    await admin.query(
      `GRANT CONNECT ON DATABASE ${ident(target)} TO ${access.connecting.map(ident).join(', ')}`,
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
  ctx.progress(`postgres: restoring into database ${target}`);
  await runTool(
    resolveTool('pg_restore', env),
    [...connectionArgs(server, target), '--exit-on-error', '--no-owner', `--role=${access.owner}`, file],
    {
      env: toolEnv(server),
      onTick: () => ctx.progress(`postgres: restoring into database ${target}`),
    },
  );
  const client = await connect(env, target);
  try {
    return await tableContents(client, prefix);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function dropDatabase(env: PgEnv, database: string): Promise<void> {
  const admin = await connect(env, 'postgres');
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/**
 * Puts database `scratch` in the place of `live`; `live` is kept as `kept`. New connections to both are
 * refused while it happens, the open ones are ended (the application's pools reconnect to the new one).
 * The two renames are one transaction, and whatever happens both names accept connections again after:
 * a swap that fails leaves the live database as it was.
 */
export async function swapDatabase(env: PgEnv, live: string, scratch: string, kept: string): Promise<void> {
  const admin = await connect(env, 'postgres');
  const exists = async (db: string) =>
    (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
  try {
    for (const db of [live, scratch]) {
      if (await exists(db)) await admin.query(`ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS false`);
    }
    for (let attempt = 1; ; attempt += 1) {
      await endSessions(admin, [live, scratch]);
      await admin.query('BEGIN');
      try {
        if (await exists(live)) await admin.query(`ALTER DATABASE ${ident(live)} RENAME TO ${ident(kept)}`);
        await admin.query(`ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(live)}`);
        await admin.query('COMMIT');
        break;
      } catch (err) {
        await admin.query('ROLLBACK');
        // 55006: a session is still in one of them (one that slipped in, or one this role may not end).
        if ((err as { code?: string }).code !== '55006') throw err;
        // Each RENAME waits up to 5 s itself for the sessions to go (and ends an autovacuum worker); new ones
        // are refused meanwhile, so a few attempts are enough for all but a session this role may not end.
        if (attempt >= 3) throw await stillInUse(admin, [live, scratch], attempt);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    // Swapped or not, no database is left refusing connections (the application's would stay down).
    for (const db of [live, scratch, kept]) {
      if (await exists(db).catch(() => false))
        await admin.query(`ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS true`).catch(() => undefined);
    }
    await admin.end().catch(() => undefined);
  }
}

/**
 * Ends the sessions in `databases` that this role may end: a user's sessions, a superuser's only when it is
 * one. pg_signal_backend (the backup role's) may not end a superuser's session, nor, since PostgreSQL's fix of
 * CVE-2023-5870, an autovacuum worker (no user; the RENAME ends it by itself). Without pg_read_all_stats the
 * role sees no backend_type of another role's session, so a session is told by its user.
 */
async function endSessions(admin: pg.Client, databases: string[]): Promise<void> {
  await admin.query(
    `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
      WHERE a.datname = ANY($1) AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL
        AND coalesce(a.backend_type, 'client backend') = 'client backend'
        AND (NOT r.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))`,
    [databases],
  );
}

/** The error for sessions that outlasted every attempt: who they are, and what to do. */
async function stillInUse(admin: pg.Client, databases: string[], attempts: number): Promise<Error> {
  const { rows } = await admin.query<{
    pid: number;
    datname: string;
    usename: string | null;
    app: string;
    kind: string | null;
  }>(
    `SELECT pid, datname, usename, application_name AS app, backend_type AS kind FROM pg_stat_activity
      WHERE datname = ANY($1) AND pid <> pg_backend_pid() ORDER BY pid`,
    [databases],
  );
  const sessions = rows
    .map(
      (s) =>
        `pid ${s.pid} in ${s.datname}: ${s.kind ?? 'a session'} of ${s.usename ?? 'no user'}${s.app ? ` (${s.app})` : ''}`,
    )
    .join('; ');
  return Object.assign(
    new Error(
      `${databases.join(' and ')} still in use after ${attempts} attempts to end their sessions, by sessions ` +
        `this role (${String((await admin.query('SELECT current_user AS u')).rows[0]?.u)}) may not end: ` +
        `${sessions || 'none left now'}. Close them (a superuser's session, or one of another tool) and restore again.`,
    ),
    { code: '55006' },
  );
}

/** A database name of at most 63 bytes (PostgreSQL's limit), from a base and a suffix. */
export function derivedDatabase(base: string, suffix: string): string {
  const tail = `_${suffix}`.replace(/[^a-z0-9_]/g, '_');
  return `${base.slice(0, 63 - tail.length)}${tail}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

export const postgresStore: StoreModule = {
  store: 'postgres',
  async take(ctx): Promise<TakenStore> {
    const database = ctx.env.POSTGRES_DB;
    const file = join(ctx.workDir, 'postgres.dump');
    const dumped = await dumpDatabase(ctx.env, database, file, ctx);
    return {
      method: 'pg_dump, custom format, one snapshot (counts and digests taken in it)',
      serverVersion: dumped.serverVersion,
      files: [file],
      counts: dumped.counts,
      digests: dumped.digests,
      scope: { database },
    };
  },
  async restoreToScratch(ctx): Promise<ScratchRestore> {
    const live = ctx.env.POSTGRES_DB;
    const scratch = derivedDatabase(live, `restore_${ctx.scratchSuffix}`);
    const file = join(ctx.workDir, 'postgres.dump');
    let contents;
    try {
      contents = await restoreDatabase(ctx.env, file, scratch, ctx);
      // Each role's privileges, also on a dump from before the roles existed (it has no GRANTs).
      await grantPrivileges({ ...ctx.env, POSTGRES_DB: scratch }, { setRole: postgresRoles.migrator });
    } catch (err) {
      await dropDatabase(ctx.env, scratch).catch(() => undefined);
      throw err;
    }
    return {
      description: `database ${scratch}`,
      ...contents,
      async promote() {
        const kept = derivedDatabase(live, `before_restore_${ctx.scratchSuffix}`);
        await swapDatabase(ctx.env, live, scratch, kept);
        return `database ${live} restored; the previous one is kept as ${kept} (DROP DATABASE it when done)`;
      },
      drop: () => dropDatabase(ctx.env, scratch),
    };
  },
};
