import pg from 'pg';
import type { Env } from '../config.ts';

/** Where the database is, and the login of this process (its component's role: src/identity.ts). */
export type PgEnv = Pick<
  Env,
  'POSTGRES_HOST' | 'POSTGRES_PORT' | 'POSTGRES_LOGIN_USER' | 'POSTGRES_LOGIN_PASSWORD' | 'POSTGRES_DB'
> &
  Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>;

/**
 * The connection URL of this login. TLS (POSTGRES_SSL_MODE) with libpq's meaning of each mode, which `pg`
 * follows with `uselibpqcompat`: every client of the product (pg, Prisma's adapter, the schema engine) reads
 * its TLS settings from here.
 */
export function postgresUrl(env: PgEnv): string {
  const user = encodeURIComponent(env.POSTGRES_LOGIN_USER);
  const password = encodeURIComponent(env.POSTGRES_LOGIN_PASSWORD);
  const url = `postgresql://${user}:${password}@${env.POSTGRES_HOST}:${env.POSTGRES_PORT}/${env.POSTGRES_DB}`;
  const mode = env.POSTGRES_SSL_MODE ?? 'disable';
  if (mode === 'disable') return url;
  const params = new URLSearchParams({ sslmode: mode, uselibpqcompat: 'true' });
  if (env.POSTGRES_SSL_ROOT_CERT) params.set('sslrootcert', env.POSTGRES_SSL_ROOT_CERT);
  return `${url}?${params.toString()}`;
}

/**
 * How PostgreSQL's own tools (psql, pg_dump, pg_restore) reach `database` as this login: their connection
 * arguments, and their environment (the password and TLS settings as libpq's variables, never arguments).
 */
export function pgToolConnection(
  env: Omit<PgEnv, 'POSTGRES_DB'>,
  database: string,
): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: [
      '-h',
      env.POSTGRES_HOST,
      '-p',
      String(env.POSTGRES_PORT),
      '-U',
      env.POSTGRES_LOGIN_USER,
      '-d',
      database,
    ],
    env: { PGPASSWORD: env.POSTGRES_LOGIN_PASSWORD, PGCONNECT_TIMEOUT: '10', ...pgToolTls(env) },
  };
}

/** The same TLS settings for PostgreSQL's own tools (psql, pg_dump, pg_restore), as libpq's variables. */
export function pgToolTls(
  env: Partial<Pick<Env, 'POSTGRES_SSL_MODE' | 'POSTGRES_SSL_ROOT_CERT'>>,
): NodeJS.ProcessEnv {
  return {
    PGSSLMODE: env.POSTGRES_SSL_MODE ?? 'disable',
    ...(env.POSTGRES_SSL_ROOT_CERT ? { PGSSLROOTCERT: env.POSTGRES_SSL_ROOT_CERT } : {}),
  };
}

/**
 * A connection pool for the product's database. Close it with `end()`.
 *
 * An idle connection that the server drops (a restart, an admin kill) makes `pg` emit `error` on the pool;
 * unhandled, that would crash the process although the pool simply discards the connection and opens a
 * new one on the next query. So the pool reports it (`onIdleError`, by default a warning) and carries on.
 */
export function createPgPool(
  env: PgEnv,
  options: pg.PoolConfig & { onIdleError?: (err: Error) => void } = {},
): pg.Pool {
  const { onIdleError, ...config } = options;
  const pool = new pg.Pool({
    connectionString: postgresUrl(env),
    max: 10,
    connectionTimeoutMillis: 5_000,
    ...config,
  });
  pool.on(
    'error',
    onIdleError ?? ((err: Error) => console.warn(`postgres: an idle connection was lost (${err.message})`)),
  );
  return pool;
}
