// The product's PostgreSQL roles (src/identity.ts) and what each may do, applied by the same two psql
// scripts in both stacks: stack/postgres/roles.sql (as the bootstrap superuser: roles, passwords, the
// database and its owner) and stack/postgres/grants.sql (as the owner: privileges on the tables, including
// those of later migrations). Docker Compose runs them from its one-shot `postgres-roles` service.
import { join } from 'node:path';
import { createPgClient, pgToolConnection, type PgEnv } from '../clients/postgres.ts';
import type { Env } from '../config.ts';
import { asPostgresRole, postgresPasswordVariable, postgresRoles, type PostgresRole } from '../identity.ts';
import { repoRoot } from '../repo.ts';
import { resolveTool, runTool } from '../backup/tools.ts';

export const rolesScript = join(repoRoot, 'stack', 'postgres', 'roles.sql');
export const grantsScript = join(repoRoot, 'stack', 'postgres', 'grants.sql');
export const temporalScript = join(repoRoot, 'stack', 'postgres', 'temporal.sql');

/** The Temporal server's role and its two databases (stack/postgres/temporal.sql). */
export const temporalRole = 'temporal';
export const temporalDatabases = ['temporal', 'temporal_visibility'] as const;

/** The roles roles.sql creates, each with the variable of its password. */
export const productRoles = (Object.keys(postgresRoles) as PostgresRole[]).filter((r) => r !== 'admin');

function roleSecrets(env: Env): NodeJS.ProcessEnv {
  const missing = productRoles.map(postgresPasswordVariable).filter((v) => !env[v]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: the PostgreSQL roles need their passwords (\`prism stack up\` generates them)`,
    );
  }
  return Object.fromEntries(
    productRoles.map((r) => [postgresPasswordVariable(r), String(env[postgresPasswordVariable(r)])]),
  );
}

type PsqlEnv = Pick<
  Env,
  'POSTGRES_HOST' | 'POSTGRES_PORT' | 'POSTGRES_LOGIN_USER' | 'POSTGRES_LOGIN_PASSWORD' | 'PRISM_STACK_HOME'
> &
  Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>;

async function psql(env: PsqlEnv, database: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const connection = pgToolConnection(env, database);
  return runTool(
    resolveTool('psql', env),
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connection.args, ...args],
    {
      env: { ...connection.env, PGAPPNAME: 'prism-roles', ...extraEnv },
      label: 'psql',
    },
  );
}

/**
 * Whether a login connects and, where a check is given, the check (one query returning `ok`) holds: false on
 * any error (a wrong password, a missing database or role).
 */
async function loginHolds(login: PgEnv, check?: { sql: string; params?: unknown[] }): Promise<boolean> {
  const client = createPgClient(login, { connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    if (!check) return true;
    const { rows } = await client.query<{ ok: boolean }>(check.sql, check.params);
    return rows[0]?.ok === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the roles log in to `database` with the passwords of this configuration, the database belongs to
 * the migration role, so does every object in it, and only the product's roles may connect: then roles.sql has nothing to do. A few connections.
 */
export async function rolesUpToDate(env: Env, database = env.POSTGRES_DB): Promise<boolean> {
  for (const role of productRoles) {
    if (!env[postgresPasswordVariable(role)]) return false;
    const login = { ...asPostgresRole(env, role), POSTGRES_DB: database };
    const check =
      role === 'app'
        ? {
            sql: `SELECT (SELECT datdba = 'prism_migrator'::regrole FROM pg_database WHERE datname = current_database())
            AND NOT has_database_privilege('public', current_database(), 'CONNECT')
            AND NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'public' AND c.relowner <> 'prism_migrator'::regrole) AS ok`,
          }
        : undefined;
    if (!(await loginHolds(login, check))) return false;
  }
  return true;
}

/**
 * Creates or updates the roles, their passwords, and `database` (default POSTGRES_DB) owned by the migration
 * role, with the privileges of each role in it. Needs the bootstrap superuser (POSTGRES_PASSWORD). Returns
 * false when everything was already in place.
 */
export async function provisionRoles(env: Env, database = env.POSTGRES_DB): Promise<boolean> {
  if (await rolesUpToDate(env, database)) return false;
  const secrets = roleSecrets(env);
  await psql(asPostgresRole(env, 'admin'), 'postgres', ['-v', `db=${database}`, '-f', rolesScript], secrets);
  return true;
}

/**
 * Whether the Temporal server's role logs in to both its databases with this configuration's password, owns
 * them, and nobody else may connect: then temporal.sql has nothing to do.
 */
export async function temporalRoleUpToDate(env: Env): Promise<boolean> {
  const password = env.POSTGRES_TEMPORAL_PASSWORD;
  if (!password) return false;
  for (const database of temporalDatabases) {
    const login = {
      ...env,
      POSTGRES_LOGIN_USER: temporalRole,
      POSTGRES_LOGIN_PASSWORD: password,
      POSTGRES_DB: database,
    };
    const owned = await loginHolds(login, {
      sql: `SELECT (SELECT datdba = $1::regrole FROM pg_database WHERE datname = current_database())
            AND NOT has_database_privilege('public', current_database(), 'CONNECT')
            AND pg_has_role('prism_backup', $1, 'MEMBER') AS ok`,
      params: [temporalRole],
    });
    if (!owned) return false;
  }
  return true;
}

/**
 * Creates or updates the Temporal server's role, its password and its databases (as the bootstrap superuser;
 * after provisionRoles, whose backup and monitoring roles it lets in). Returns false when all was in place.
 */
export async function provisionTemporalRole(env: Env): Promise<boolean> {
  if (await temporalRoleUpToDate(env)) return false;
  if (!env.POSTGRES_TEMPORAL_PASSWORD) {
    throw new Error(
      'POSTGRES_TEMPORAL_PASSWORD not set: the Temporal server logs in to PostgreSQL with it (`prism stack up` generates it)',
    );
  }
  await psql(asPostgresRole(env, 'admin'), 'postgres', ['-f', temporalScript], {
    POSTGRES_TEMPORAL_PASSWORD: env.POSTGRES_TEMPORAL_PASSWORD,
  });
  return true;
}

/**
 * Grants each role its privileges on the tables of `env`'s database (stack/postgres/grants.sql), logged in
 * as `env`'s login: their owner (`prism migrate`), or a member of it acting as it (`setRole`: a restore).
 */
export async function grantPrivileges(
  env: Pick<
    Env,
    | 'POSTGRES_HOST'
    | 'POSTGRES_PORT'
    | 'POSTGRES_LOGIN_USER'
    | 'POSTGRES_LOGIN_PASSWORD'
    | 'POSTGRES_DB'
    | 'PRISM_STACK_HOME'
  >,
  options: { setRole?: string } = {},
): Promise<void> {
  const setRole = options.setRole ? ['-c', `SET ROLE ${options.setRole}`] : [];
  await psql(env, env.POSTGRES_DB, [...setRole, '-f', grantsScript]);
}
