import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../src/clients/postgres.ts';
import { asPostgresRole } from '../../src/identity.ts';
import { env, testId } from '../helpers.ts';

describe('PostgreSQL', () => {
  // The tests' own login: the application's role (src/identity.ts).
  const pool = createPgPool(env);
  // A schema of its own: the product's tables live in `public`, which migrations manage. Only the database's
  // owner may create one (the application's role may not: test/integration/postgres/roles.test.ts).
  const owner = createPgPool(asPostgresRole(env, 'migrator'));
  const schema = testId('pg');
  const table = `${schema}.readings`;
  afterAll(async () => {
    await owner.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all([pool.end(), owner.end()]);
  });

  it('answers queries as the configured user in the configured database', async () => {
    const { rows } = await pool.query<{ user: string; db: string; version: string }>(
      'SELECT current_user AS user, current_database() AS db, current_setting($1) AS version',
      ['server_version_num'],
    );
    expect(rows[0]).toMatchObject({ user: env.POSTGRES_LOGIN_USER, db: env.POSTGRES_DB });
    expect(Number(rows[0]!.version)).toBeGreaterThanOrEqual(150000);
  });

  it('stores rows and reads them back', async () => {
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, payload jsonb NOT NULL)`);
    await owner.query(`INSERT INTO ${table} (payload) VALUES ($1), ($2)`, [
      { line: 'A', rpm: 1200 },
      { line: 'B', rpm: 900 },
    ]);
    const { rows } = await owner.query<{ line: string }>(
      `SELECT payload->>'line' AS line FROM ${table} WHERE (payload->>'rpm')::int > 1000`,
    );
    expect(rows).toEqual([{ line: 'A' }]);
  });

  it('rejects a wrong password', async () => {
    const bad = createPgPool({ ...env, POSTGRES_LOGIN_PASSWORD: 'definitely-wrong' }, { max: 1 });
    await expect(bad.query('SELECT 1')).rejects.toThrow(/password authentication failed/);
    await bad.end();
  });

  it('survives the server dropping an idle connection, reporting it instead of crashing', async () => {
    const lost: Error[] = [];
    const own = createPgPool(env, { max: 1, onIdleError: (err) => lost.push(err) });
    const { rows } = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const victim = rows[0]!.pid;
    await pool.query('SELECT pg_terminate_backend($1)', [victim]);
    await expect.poll(() => lost.length, { timeout: 5_000 }).toBe(1);
    expect(lost[0]!.message).toMatch(/terminat/i);
    const again = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(again.rows[0]!.pid).not.toBe(victim);
    await own.end();
  });
});
