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

/** A connection pool for the product's database. Close it with `end()`. */
export function createPgPool(env: PgEnv, options: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({
    connectionString: postgresUrl(env),
    max: 10,
    connectionTimeoutMillis: 5_000,
    ...options,
  });
}
