// The product's database itself: created on first use, so a fresh server (or a second deployment on the
// same server, such as the tests' own database) needs no hand-made `CREATE DATABASE`.
import pg from 'pg';
import type { PgEnv } from '../clients/postgres.ts';

/** Creates POSTGRES_DB when it does not exist (connecting to the server's `postgres` database). */
export async function ensureDatabase(env: PgEnv): Promise<boolean> {
  const client = new pg.Client({
    host: env.POSTGRES_HOST,
    port: env.POSTGRES_PORT,
    user: env.POSTGRES_USER,
    password: env.POSTGRES_PASSWORD,
    database: 'postgres',
    connectionTimeoutMillis: 5_000,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      env.POSTGRES_DB,
    ]);
    if (rowCount) return false;
    try {
      // The name is a checked SQL identifier (config: lower-case letters, digits and _).
      await client.query(`CREATE DATABASE "${env.POSTGRES_DB}"`);
    } catch (err) {
      // Two processes may create it at once; only a database still missing is an error.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}
