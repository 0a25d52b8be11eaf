import pg from 'pg';
import type { Env } from '../config.ts';

export type PgEnv = Pick<
  Env,
  'POSTGRES_HOST' | 'POSTGRES_PORT' | 'POSTGRES_USER' | 'POSTGRES_PASSWORD' | 'POSTGRES_DB'
>;

export function postgresUrl(env: PgEnv): string {
  const user = encodeURIComponent(env.POSTGRES_USER);
  const password = encodeURIComponent(env.POSTGRES_PASSWORD);
  return `postgresql://${user}:${password}@${env.POSTGRES_HOST}:${env.POSTGRES_PORT}/${env.POSTGRES_DB}`;
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
